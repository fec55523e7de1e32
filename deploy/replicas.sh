#!/usr/bin/env bash
# Start N replicas of the dashboard (default 2) on 127.0.0.1, ports BASE_PORT+1 .. BASE_PORT+N
# (default 8501, 8502, ...: the ports deploy/nginx.conf names), in the foreground like a Procfile
# runner: each replica's output is prefixed with its name, Ctrl-C or SIGTERM stops them all, and a
# replica that exits is started again after 2 s. Run from the repository (or set MFP_HOME).
#
#   MFP_DATABASE_URL=postgresql://mfp:PASSWORD@127.0.0.1/mfp deploy/replicas.sh 2
#
# Settings (environment; /etc/factorization-playground.env is read first when it exists):
#   MFP_DATABASE_URL   the shared store (PostgreSQL). Unset: the files under MFP_STORE_DIR, which
#                      replicas on one machine share too.
#   MF_TRAINING_SLOTS  training slots per replica; default: this machine's cores / N (at least 1),
#                      so N replicas together train on the cores the machine has.
#   MF_MEMORY_CAP_BYTES the memory cap per replica; default: the machine's cap / N.
#   STREAMLIT_SERVER_COOKIE_SECRET one secret shared by the replicas (made once in MFP_HOME/.cookie-secret).
set -euo pipefail
N="${1:-2}"
ENV_FILE="${MFP_ENV_FILE:-/etc/factorization-playground.env}"
if [ -r "$ENV_FILE" ]; then set -a; . "$ENV_FILE"; set +a; fi
MFP_HOME="${MFP_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
BASE_PORT="${BASE_PORT:-8500}"
PYTHON="${PYTHON:-$MFP_HOME/.venv/bin/python}"
cd "$MFP_HOME"

cores=$(nproc)
export MF_TRAINING_SLOTS="${MF_TRAINING_SLOTS:-$(( cores / N > 0 ? cores / N : 1 ))}"
if [ -z "${MF_MEMORY_CAP_BYTES:-}" ]; then
  MF_MEMORY_CAP_BYTES=$("$PYTHON" -c "from mfcore.data.memory import memory_cap_bytes; print(memory_cap_bytes() // $N)")
  export MF_MEMORY_CAP_BYTES
fi
if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
  [ -s .cookie-secret ] || (umask 077; "$PYTHON" -c "import secrets; print(secrets.token_hex(32))" > .cookie-secret)
  STREAMLIT_SERVER_COOKIE_SECRET=$(cat .cookie-secret)
  export STREAMLIT_SERVER_COOKIE_SECRET
fi

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait; exit 0; }
trap stop INT TERM EXIT

replica() {  # keep replica $1 running on port $2; a TERM stops it
  local child=""
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' INT TERM
  while true; do
    "$PYTHON" -m streamlit run Home.py --server.port "$2" --server.address 127.0.0.1 \
      --server.headless true > >(sed -u "s/^/[r$1] /") 2>&1 &
    child=$!
    wait "$child" || true
    echo "[r$1] exited; starting it again in 2 s"
    sleep 2
  done
}

for i in $(seq 1 "$N"); do
  replica "$i" $(( BASE_PORT + i )) &
  pids+=($!)
done
echo "replicas.sh: $N replicas on ports $(( BASE_PORT + 1 ))..$(( BASE_PORT + N )), $MF_TRAINING_SLOTS training slot(s) each"
wait
