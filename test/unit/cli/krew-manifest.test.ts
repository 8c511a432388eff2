// The krew manifest template (plugins/krew/switchboard.yaml): valid YAML in krew's Plugin shape,
// whose placeholders are exactly those plugins/krew/package.sh fills in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');
const template = readFileSync(join(root, 'plugins/krew/switchboard.yaml'), 'utf8');
const script = readFileSync(join(root, 'plugins/krew/package.sh'), 'utf8');

describe('krew manifest', () => {
  it('uses only the placeholders package.sh sets', () => {
    const placeholders = [...new Set([...template.replace(/^#.*$/gm, '').matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]))].sort();
    expect(placeholders).toEqual(['ARCHIVE_SHA256', 'ARCHIVE_URL', 'HOMEPAGE', 'VERSION']);
    for (const name of placeholders) expect(script).toContain(`${name}=`);
  });

  it('is a krew Plugin named switchboard whose binary is kubectl-switchboard', () => {
    const manifest = parse(template.replace(/\$\{(\w+)\}/g, (_, name: string) => (name === 'VERSION' ? '0.1.0' : `x-${name}`)));
    expect(manifest).toMatchObject({ apiVersion: 'krew.googlecontainertools.github.com/v1alpha2', kind: 'Plugin', metadata: { name: 'switchboard' } });
    expect(manifest.spec.version).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(60);
    expect(manifest.spec.platforms).toEqual([{
      selector: { matchExpressions: [{ key: 'os', operator: 'In', values: ['linux', 'darwin'] }] },
      uri: 'x-ARCHIVE_URL', sha256: 'x-ARCHIVE_SHA256', bin: 'kubectl-switchboard',
    }]);
  });

  it('ships the launcher krew links as kubectl-switchboard', () => {
    expect(script).toContain('cat > "$stage/kubectl-switchboard"');
    expect(script).toContain('exec node "$here/dist/cli/main.js" "$@"');
  });
});
