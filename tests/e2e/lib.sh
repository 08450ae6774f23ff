# Shared by the end-to-end checks: builds and starts a real `cognate` process on the embedded
# default (SQLite in a scratch directory, a free loopback port) and stops it on exit.
# Sets: binary, work, port, endpoint, pid. Exports dummy AWS credentials (local development).

cargo build --quiet -p cognate
binary="${CARGO_TARGET_DIR:-target}/debug/cognate"
work=$(mktemp -d)
pid=""
trap 'if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"

start_cognate() {
  "$binary" --dev --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/out.log" 2>"$work/err.log" &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$endpoint/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "cognate did not become healthy"; cat "$work/out.log" "$work/err.log"
  return 1
}

export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
aws="aws --endpoint-url $endpoint --output json"

# json_field <file> <python expression over `doc`>
json_field() {
  python3 -c 'import json,sys; doc=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
