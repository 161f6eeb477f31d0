# Sourced by the build scripts that keep a step's output out of sight (bench.sh, experiment.sh,
# install-tool.sh); not a command of its own.
#   quietly SCRIPT STEP COMMAND [ARGUMENT...]
# runs COMMAND with its standard output kept aside (its standard error goes through as it comes).
# When it succeeds nothing of it is shown and the output is left in $quietly_output. When it fails,
# "SCRIPT: STEP failed (exit N)" and the output go to standard error, and quietly returns COMMAND's
# status: 'dotnet build' writes its errors to standard output, which the scripts used to discard,
# leaving a failed build with nothing to read. A long output is cut to its error lines and its end.
quietly_output=""
quietly() {
  local script=$1 step=$2 log status=0
  shift 2
  log=$(mktemp)
  "$@" >"$log" || status=$?
  quietly_output=$(<"$log")
  rm -f "$log"
  if ((status == 0)); then
    return 0
  fi
  {
    echo "$script: $step failed (exit $status); its output:"
    if (($(wc -l <<<"$quietly_output") <= 200)); then
      printf '%s\n' "$quietly_output"
    else
      grep -E '(^|[: ])error( |:)' <<<"$quietly_output" | awk '!seen[$0]++' || true
      echo "… its last 40 lines:"
      tail -n 40 <<<"$quietly_output"
    fi
    echo "$script: stopped: $step failed"
  } >&2
  return "$status"
}
