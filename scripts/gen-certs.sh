#!/usr/bin/env bash
# Makes what mTLS between the platform's processes needs: a private CA and one
# certificate per process (user, order, traffic), each valid for server and
# client authentication, for its own Compose name, localhost and 127.0.0.1.
#
#   scripts/gen-certs.sh [DIR]     (default: certs/, which git ignores)
#
# DIR gets ca.pem, and NAME.pem + NAME.key for each process (ca.key stays there
# too, to sign more). Point TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE at them.
# Existing files are kept, so a stack running on them is not broken by a
# second run; delete DIR to start over. For a demo or tests: the CA key sits
# unencrypted beside the certificates.
set -euo pipefail
dir=${1:-certs}
names=(user order traffic)
days=825 # the longest validity clients such as Apple's accept for a leaf certificate

mkdir -p "$dir"
umask 077 # keys readable by their owner only

if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/O=grpc-platform/CN=grpc-platform CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem"
fi

for name in "${names[@]}"; do
  [ -f "$dir/$name.pem" ] && [ -f "$dir/$name.key" ] && continue
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/O=grpc-platform/CN=$name" -out "$dir/$name.csr"
  # SANs are what TLS checks (the CN is not): the Compose service name, and
  # localhost / 127.0.0.1 for health probes, tests and published ports.
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -sha256 -days "$days" -out "$dir/$name.pem" -extfile <(printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1")
  rm -f "$dir/$name.csr"
done
rm -f "$dir/ca.srl"
# Certificates are public; keys stay 0600.
chmod 644 "$dir"/*.pem
echo "certificates for ${names[*]} in $dir (CA: $dir/ca.pem)"
