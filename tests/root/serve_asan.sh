# The daemon under AddressSanitizer (bench/vfagent-asan, the build make
# bench's soak uses; built here if missing): a few requests over the socket,
# then SIGTERM; the sanitizer's log must stay empty. The first version
# freed each request and then read its op (handle_line: op_takes_lock after
# json_object_put), which ASan reports on the first request.
# VFAGENT_ASAN=PATH runs another sanitized build.
. tests/lab/lib.sh
A="${VFAGENT_ASAN:-$PWD/bench/vfagent-asan}"
if [ ! -x "$A" ] && [ -z "${VFAGENT_ASAN:-}" ]; then
	make -s bench/vfagent-asan >/tmp/vfagent-asan-build.log 2>&1 ||
		{ skip "serve_asan: bench/vfagent-asan does not build (see /tmp/vfagent-asan-build.log)"; exit 0; }
fi
[ -x "$A" ] || { skip "serve_asan: $A missing"; exit 0; }
d=$(mktemp -d /tmp/vfagent-asan.XXXXXX)
trap 'kill $p 2>/dev/null; rm -rf "$d"' EXIT
printf '[pool p]\npf = vfa-nosuch0\nvfs = 2\n[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir "$d/asan"
ASAN_OPTIONS=log_path=$d/asan/asan:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:log_path=$d/asan/ubsan \
	"$A" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve --socket "$d/s" 2>"$d/log" &
p=$!
for i in $(seq 1 100); do [ -S "$d/s" ] && break; kill -0 $p 2>/dev/null || break; sleep 0.05; done
check serve_asan.up "$(cat $d/log)" [ -S "$d/s" ]
# status, list, hello, and a refused line: each through handle_line.
python3 - "$d/s" >"$d/replies" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for req in (b'{"op":"status"}', b'{"op":"list"}', b'{"op":"hello"}', b'{"op":"nosuch"}'):
    f.write(req + b"\n"); f.flush()
    print(f.readline().decode().strip())
PY
check serve_asan.replies "$(cat $d/replies)" sh -c "[ \$(grep -c '\"v\"' $d/replies) = 4 ]"
kill -TERM $p; wait $p; rc=$?; p=
check serve_asan.clean_exit "rc=$rc $(tail -n 3 $d/log)" [ $rc = 0 ]
check serve_asan.no_report "$(head -n 12 $d/asan/* 2>/dev/null | tr '\n' ' ' | cut -c1-600)" \
	sh -c "! ls $d/asan/* >/dev/null 2>&1"
