import { describe, expect, it } from 'vitest';
import { startChildServer } from '../../../bench/child-servers.ts';

describe('child servers', () => {
  it('reads the port from the first line and stops the child', async () => {
    const server = await startChildServer('sleeper', process.execPath, ['-e', 'console.log(4321); setInterval(() => {}, 1000)']);
    expect(server.port).toBe(4321);
    expect(() => process.kill(server.pid, 0)).not.toThrow();
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it('says why a server that exits before printing its port failed', async () => {
    await expect(startChildServer('broken', process.execPath, ['-e', 'console.error("no config file"); process.exit(3)'])).rejects.toThrow(/broken exited \(3\) before printing its port: no config file/);
  });

  it('refuses a first line that is not a port', async () => {
    await expect(startChildServer('chatty', process.execPath, ['-e', 'console.log("starting up"); setInterval(() => {}, 1000)'])).rejects.toThrow('chatty printed "starting up" where its port was expected');
  });
});
