#!/usr/bin/env bash
# Runs each libFuzzer target given for FUZZ_SECONDS (default 60) on a copy of
# its seed corpus (tests/fuzz/corpus/NAME; the tree is never written), with
# leak detection on. Exits 1 when any target crashed, leaked, timed out or
# tripped a sanitizer or a property; the reproducer is left in
# build/fuzz/artifacts/NAME/. FUZZ_JOBS (default 1) runs that many at once.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
failed=()
passed=0

run_one() {
	local bin=$1 name dict=() work artifacts
	name=$(basename "$bin")
	work=build/fuzz/work/$name
	artifacts=build/fuzz/artifacts/$name
	mkdir -p "$work" "$artifacts"
	case $name in
	fuzz_json|fuzz_members|fuzz_discord_*|fuzz_jwt) dict=(-dict=tests/fuzz/json.dict) ;;
	esac
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
		"$work" "tests/fuzz/corpus/$name" >"build/fuzz/$name.log" 2>&1
}

mkdir -p build/fuzz
running=0
declare -A pids
for bin in "$@"; do
	run_one "$bin" &
	pids[$bin]=$!
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
for bin in "$@"; do
	name=$(basename "$bin")
	if wait "${pids[$bin]}"; then
		passed=$((passed + 1))
		stats=$(grep -E 'stat::number_of_executed_units|cov:' "build/fuzz/$name.log" | tail -2 | tr '\n' ' ')
		echo "fuzz: $name ok ($stats)"
	else
		failed+=("$name")
		echo "fuzz: $name FAILED; log build/fuzz/$name.log:"
		grep -E -A30 'ERROR:|fuzz property failed|runtime error|SUMMARY' "build/fuzz/$name.log" | head -60
	fi
done
echo "${passed} passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
