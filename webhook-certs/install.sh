#!/usr/bin/env bash
# Serving certificate for Switchboard's webhooks on a cluster without cert-manager:
#   1. a CA (kept in DIR and reused on later runs, so renewals never change what the webhooks trust);
#   2. a serving certificate for switchboard-webhook.NAMESPACE.svc signed by it;
#   3. both stored in the Secret switchboard-webhook-tls (tls.crt, tls.key, ca.crt), which the
#      manager's pods mount and re-read when it changes;
#   4. the CA patched into clientConfig.caBundle of every webhook of both configurations that is
#      registered already (config/install.sh registers them later, with this CA, once the manager
#      is Ready).
# The staged install (config/install.sh --without-cert-manager) runs it after step 1. Run it again
# before the serving certificate expires (--days, 365 by default; docs/install.md, "Renewing the
# certificate"): the manager reloads it without a restart. Needs kubectl and openssl.
set -euo pipefail

NAMESPACE=switchboard-system
SERVICE=switchboard-webhook
SECRET=switchboard-webhook-tls
MUTATING=switchboard-injector
VALIDATING=switchboard-proxy-uid-guard
DAYS=365
DIR="$(cd "$(dirname "$0")" && pwd)/ca"
KUBECTL=(kubectl)

usage() {
  cat <<USAGE
usage: $0 [--namespace NS] [--dir DIR] [--days N] [--kubeconfig FILE]
  --namespace   where Switchboard runs (default $NAMESPACE)
  --dir         where the CA's key and certificate are kept between runs (default $DIR)
  --days        validity of the serving certificate (default $DAYS)
  --kubeconfig  passed to kubectl
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --namespace) NAMESPACE="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --days) DAYS="$2"; shift 2 ;;
    --kubeconfig) KUBECTL+=("--kubeconfig=$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$DAYS" =~ ^[0-9]+$ ]] || { echo "--days must be a whole number of days, not '$DAYS'" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl is required (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$DIR"
chmod 700 "$DIR"
if [[ ! -s "$DIR/ca.key" || ! -s "$DIR/ca.crt" ]]; then
  echo "creating a CA in $DIR (keep ca.key private; later runs reuse it)" >&2
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days 3650 -subj "/CN=switchboard-root-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$DIR/ca.crt"
  chmod 600 "$DIR/ca.key"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
host="$SERVICE.$NAMESPACE.svc"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$host" -out "$work/tls.csr"
cat > "$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$host,DNS:$host.cluster.local
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
  -days "$DAYS" -sha256 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
cp "$DIR/ca.crt" "$work/ca.crt"

"${KUBECTL[@]}" create secret generic "$SECRET" --namespace "$NAMESPACE" --type kubernetes.io/tls \
  --from-file=tls.crt="$work/tls.crt" --from-file=tls.key="$work/tls.key" --from-file=ca.crt="$work/ca.crt" \
  --dry-run=client -o yaml | "${KUBECTL[@]}" apply --server-side --force-conflicts --field-manager=switchboard-webhook-certs -f - >/dev/null
echo "stored the serving certificate for $host in secret $NAMESPACE/$SECRET" >&2

ca_bundle=$(base64 < "$DIR/ca.crt" | tr -d '\n')
for kind_name in "mutatingwebhookconfiguration/$MUTATING" "validatingwebhookconfiguration/$VALIDATING"; do
  count=$("${KUBECTL[@]}" get "$kind_name" --ignore-not-found -o go-template='{{len .webhooks}}')
  if [[ -z "$count" ]]; then
    echo "$kind_name is not registered yet: config/install.sh registers it with this CA once the manager is Ready" >&2
    continue
  fi
  patch="["
  for ((i = 0; i < count; i++)); do
    [[ $i -gt 0 ]] && patch+=","
    patch+="{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$ca_bundle\"}"
  done
  patch+="]"
  "${KUBECTL[@]}" patch "$kind_name" --type=json -p "$patch" >/dev/null
  echo "patched caBundle of $count webhooks in $kind_name" >&2
done
