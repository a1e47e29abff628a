#!/usr/bin/env bash
# The full test suite: lint, type check, and every test (unit, integration against the real
# services the tests start themselves). Ends with one line "N passed, N failed".
# Usage: bun run test:all   (or: bash scripts/test-all.sh [extra bun test args])
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() {
  local name=$1
  shift
  echo "== $name: $*"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "!! $name failed"
    failed=$((failed + 1))
  fi
}

check install bun install --frozen-lockfile
check lint ./node_modules/.bin/biome check .
check typecheck ./node_modules/.bin/tsc --noEmit -p .
# The dashboard is browser code with its own settings (DOM, no Bun types); the root config skips it.
check typecheck-dashboard ./node_modules/.bin/tsc --noEmit -p dashboard

report=$(mktemp -t coelho-junit-XXXXXX.xml)
echo "== tests: bun test $*"
bun test --reporter=junit --reporter-outfile="$report" "$@" 2>&1 | tee "$report.out"
test_status=${PIPESTATUS[0]}

# Count from the JUnit report bun wrote: <testsuites tests=".." failures=".." ...>.
read -r tests failures skipped < <(bun -e '
  const xml = await Bun.file(process.argv[1]).text();
  const attr = (n) => Number((new RegExp(`<testsuites[^>]*\\b${n}="(\\d+)"`).exec(xml) ?? [])[1] ?? 0);
  console.log(attr("tests"), attr("failures") + attr("errors"), attr("skipped"));
' "$report" 2>/dev/null || echo "0 1 0")
if [ "$tests" = "0" ]; then
  echo "!! no test ran (or the report could not be read)"
  failures=$((failures + 1))
fi
if [ "$test_status" -ne 0 ] && [ "$failures" = "0" ]; then
  echo "!! bun test exited $test_status without a failing test in its report"
  failures=1
fi
passed=$((passed + tests - failures - skipped))
failed=$((failed + failures))
rm -f "$report" "$report.out"

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
