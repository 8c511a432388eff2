// Regenerates crds/istio/ from istio.io/api at the version pinned in hack/fetch-istio-api.sh: every
// CRD of the module's bundle, one file each, byte for byte (analyze judges every Istio kind).
// Run: node_modules/.bin/node hack/update-istio-crds.ts
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHIPPED_ISTIO_CRD_DIR, istioApiCrdBundle, pinnedIstioApiVersion, renderShippedCopies } from '../test/harness/istio-api.ts';

const version = pinnedIstioApiVersion();
const copies = renderShippedCopies(istioApiCrdBundle(), version);
for (const file of readdirSync(SHIPPED_ISTIO_CRD_DIR)) {
  if (file.endsWith('.yaml') && !copies.has(file)) rmSync(join(SHIPPED_ISTIO_CRD_DIR, file));
}
for (const [file, content] of copies) writeFileSync(join(SHIPPED_ISTIO_CRD_DIR, file), content);
console.log(`crds/istio/: ${[...copies.keys()].join(', ')} from istio.io/api@${version}`);
