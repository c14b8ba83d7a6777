#!/usr/bin/env bash
# make kind-test: a smoke test of the deployed release. Through a port-forward it submits a chunked job (bulk pool)
# and a chord job (default pool), waits for both to succeed with the right answer, and shows that the operator
# scaled the bulk pool up from its minimum for the burst and back down once it drained. With SMOKE_EXAMPLES=1 (a
# release of the examples image, charts/celerity/ci/examples-values.yaml) it then runs the examples' wordcount job.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools kind kubectl curl python3
require_cluster

PORT="${SMOKE_PORT:-18080}"
JOB_TIMEOUT="${SMOKE_JOB_TIMEOUT:-300}"       # seconds for both jobs to finish
SCALE_TIMEOUT="${SMOKE_SCALE_TIMEOUT:-180}"   # seconds for the bulk pool to settle at its minimum, before and after
POLL="${SMOKE_POLL:-2}"
CHUNKED_ITEMS="${SMOKE_CHUNKED_ITEMS:-20000}"
CHORD_ITEMS="${SMOKE_CHORD_ITEMS:-2000}"
EXAMPLES="${SMOKE_EXAMPLES:-0}"               # 1: the release runs the examples image; run its wordcount job
BASE="http://127.0.0.1:$PORT"
kube=(kubectl --context "$KUBE_CONTEXT" --namespace "$NAMESPACE")
instance="app.kubernetes.io/instance=$RELEASE"

# --- helpers -------------------------------------------------------------------------------------------------------
first_name() {  # first_name KIND SELECTOR: the name of the release's object of that kind matching SELECTOR
  "${kube[@]}" get "$1" -l "$instance,$2" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true
}
json_get() {  # json_get a.b < document
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"
}
api() {
  curl --silent --show-error --fail-with-body --max-time 30 \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$@"
}
bulk_replicas() {
  local replicas
  replicas="$("${kube[@]}" get deployment "$bulk" -o jsonpath='{.spec.replicas}')"
  echo "${replicas:-0}"
}
wait_for_bulk_minimum() {  # wait_for_bulk_minimum WHY
  local deadline=$((SECONDS + SCALE_TIMEOUT)) replicas
  while replicas="$(bulk_replicas)"; [ "$replicas" -gt "$bulk_min" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "bulk pool still at $replicas replicas after ${SCALE_TIMEOUT}s ($1); minimum is $bulk_min"
    sleep "$POLL"
  done
  log "bulk pool at its minimum ($replicas replicas) $1"
}
check_result() {  # check_result JOB_JSON ITEMS: the job succeeded with sum = Σ i² over 0..N-1 and count = N
  python3 -c 'import json, sys
job, n = json.loads(sys.argv[1]), int(sys.argv[2])
want = {"sum": (n - 1) * n * (2 * n - 1) // 6, "count": n}
if job["status"] != "succeeded" or job["result"] != want:
    sys.exit("job %s (%s): status %s, result %s, want %s" % (job["id"], job["workload"], job["status"], job["result"], want))
print("%s: %d items, sum %d: correct" % (job["workload"], n, want["sum"]))' "$1" "$2"
}

# --- the release -----------------------------------------------------------------------------------------------------
web="$(first_name service app.kubernetes.io/component=web)"
app_secret="$(first_name secret app.kubernetes.io/component=app)"
bulk="$(first_name deployment "app.kubernetes.io/component=worker,celerity.dev/pool=bulk")"
[ -n "$web" ] && [ -n "$app_secret" ] && [ -n "$bulk" ] || die "release $RELEASE not found in $NAMESPACE: run \`make deploy\`"
bulk_min="$("${kube[@]}" get workerpool bulk -o jsonpath='{.spec.minReplicas}')"
bulk_min="${bulk_min:-0}"
token="$("${kube[@]}" get secret "$app_secret" -o jsonpath='{.data.api-token}' \
  | python3 -c 'import base64, sys; print(base64.b64decode(sys.stdin.read()).decode())')"

workdir="$(mktemp -d)"
"${kube[@]}" port-forward "service/$web" "$PORT:8000" >"$workdir/port-forward.log" 2>&1 &
forward=$!
trap 'kill "$forward" 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 1 30); do
  curl --silent --fail --max-time 2 "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$forward" 2>/dev/null || { cat "$workdir/port-forward.log" >&2; die "port-forward to service/$web stopped"; }
  sleep 1
done
curl --silent --fail --max-time 2 "$BASE/readyz" >/dev/null || die "$BASE/readyz is not ready"
log "API reachable at $BASE through service/$web"

# --- the burst -------------------------------------------------------------------------------------------------------
wait_for_bulk_minimum "before the burst"
chunked="$(api -d "{\"workload\": \"chunked\", \"items\": $CHUNKED_ITEMS, \"chunk_size\": 50}" "$BASE/api/jobs" | json_get id)"
chord="$(api -d "{\"workload\": \"chord\", \"items\": $CHORD_ITEMS}" "$BASE/api/jobs" | json_get id)"
log "submitted chunked job $chunked ($CHUNKED_ITEMS items) and chord job $chord ($CHORD_ITEMS items)"

peak="$(bulk_replicas)"
deadline=$((SECONDS + JOB_TIMEOUT))
while :; do
  replicas="$(bulk_replicas)"
  [ "$replicas" -le "$peak" ] || { peak="$replicas"; log "bulk pool scaled to $peak replicas"; }
  chunked_json="$(api "$BASE/api/jobs/$chunked")"
  chord_json="$(api "$BASE/api/jobs/$chord")"
  states="$(json_get status <<<"$chunked_json") $(json_get status <<<"$chord_json")"
  case "$states" in
    *failed* | *cancelled*) die "a job did not succeed: $chunked_json $chord_json" ;;
    "succeeded succeeded") break ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "jobs not finished after ${JOB_TIMEOUT}s: $states"
  sleep "$POLL"
done
check_result "$chunked_json" "$CHUNKED_ITEMS"
check_result "$chord_json" "$CHORD_ITEMS"

# --- the scale-down --------------------------------------------------------------------------------------------------
[ "$peak" -gt "$bulk_min" ] || die "the operator never scaled the bulk pool above $bulk_min replicas during the burst"
log "bulk pool scaled up: $bulk_min -> $peak replicas"
wait_for_bulk_minimum "after the burst drained"
"${kube[@]}" get workerpools
"${kube[@]}" get events --field-selector involvedObject.kind=WorkerPool -o custom-columns=TIME:.lastTimestamp,POOL:.involvedObject.name,REASON:.reason,MESSAGE:.message \
  | tail -n 10

# --- your own job types (the examples image) ------------------------------------------------------------------------
if [ "$EXAMPLES" = 1 ]; then
  texts='[{"text": "the cat sat"}, {"text": "the dog ran"}, {"text": "a cat and a dog"}]'
  words="$(api -d "{\"type\": \"wordcount\", \"items\": $texts}" "$BASE/api/jobs" | json_get id)"
  log "submitted the examples' wordcount job $words"
  deadline=$((SECONDS + JOB_TIMEOUT))
  while words_json="$(api "$BASE/api/jobs/$words")"; state="$(json_get status <<<"$words_json")"; [ "$state" != succeeded ]; do
    case "$state" in failed | cancelled) die "the wordcount job did not succeed: $words_json" ;; esac
    [ "$SECONDS" -lt "$deadline" ] || die "the wordcount job is still $state after ${JOB_TIMEOUT}s"
    sleep "$POLL"
  done
  total="$(json_get result.reduce.words <<<"$words_json")"
  [ "$total" = 11 ] || die "wordcount counted $total words, want 11: $words_json"
  log "wordcount (examples image): 3 texts, 11 words: correct"
fi

log "smoke test passed: both jobs correct, bulk scaled $bulk_min -> $peak -> $bulk_min"
