# The daemon's workers (agent/serve_job.c), on the host without SR-IOV or
# libvirtd: a fake libvirt socket accepts the daemon's own connections and
# closes them, and holds a worker's for 3 s without a word (then closes),
# so a worker stays alive in its libvirt call long enough to be looked at.
#   worker.spare: a worker is forked ahead (the spare), before any job;
#   worker.no_shared_ofd: no worker shares an open file description with
#     the daemon (kcmp KCMP_FILE over every descriptor but 0-2): flock
#     locks belong to them, so a shared one lets a worker keep the daemon's
#     journal or state lock, or release it for the daemon. The parent build
#     fails it (its worker kept the state lock's, the journal's, ...);
#   worker.reply: the job's reply comes back;
#   worker.reload_new_spare: SIGHUP replaces the spare (it read the old
#     config);
#   worker.spare_killed: with the spare killed (-9), the next job still gets
#     its reply from a worker, not "the worker process died";
#   worker.reaped: the workers that exited (the killed spare, the jobs'
#     workers) are reaped: no zombie child of the daemon.
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
V=${VFAGENT_BIN:-$PWD/vfagent} S="$PWD/tests/lab/sock_tool"
command -v python3 >/dev/null || { skip "worker: python3 missing (fake libvirt socket, kcmp)"; exit 0; }
d=$(mktemp -d /tmp/vfagent-worker.XXXXXX)
pid= fake= jpid=
trap 'kill $pid $fake $jpid 2>/dev/null; rm -rf "$d"' EXIT
python3 - "$d/lv.sock" <<'PY' &
import os, socket, struct, sys, threading, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64)
def peer_parent_comm(c):
    pid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    try:
        ppid = open("/proc/%d/status" % pid).read().split("PPid:")[1].split()[0]
        return open("/proc/%s/comm" % ppid).read().strip()
    except Exception:
        return ""
def hold(c):
    time.sleep(3); c.close()
while True:
    c, _ = s.accept()
    if peer_parent_comm(c) == "vfagent":
        threading.Thread(target=hold, args=(c,), daemon=True).start()
    else:
        c.close()
PY
fake=$!
for i in $(seq 1 50); do [ -S "$d/lv.sock" ] && break; sleep 0.05; done
printf '[libvirt]\nuri = qemu+unix:///system?socket=%s\n[pool p]\npf = vfa-nosuch0\nvfs = 2\n' "$d/lv.sock" >"$d/c.conf"
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log" &
pid=$!
sock=$d/st/vfagent.sock
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
check worker.socket "no socket after 5 s: $(cat $d/log)" [ -S "$sock" ]
# The daemon's live children (zombies not yet reaped left out).
kids() { ps --ppid "$pid" -o pid=,stat= 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }'; }
for i in $(seq 1 20); do [ -n "$(kids)" ] && break; sleep 0.05; done
spare=$(kids)
check worker.spare "daemon children: '$spare'" [ -n "$spare" ]

# A job (release --domain: a libvirt call) in flight: its worker waits on
# the fake libvirt for 3 s.
"$S" "$sock" '{"op":"release","domain":"vm1"}\n' >"$d/job.out" 2>&1 &
jpid=$!
for i in $(seq 1 50); do grep -q 'running in worker' "$d/log" && break; sleep 0.05; done
shared=$(python3 - "$pid" $(kids) <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_kcmp, KCMP_FILE = 312, 0
d = int(sys.argv[1])
def fds(p):
    return [int(f) for f in os.listdir("/proc/%d/fd" % p) if int(f) > 2]
out = []
dfds = fds(d)
for k in map(int, sys.argv[2:]):
    for cf in fds(k):
        for df in dfds:
            r = libc.syscall(SYS_kcmp, d, k, KCMP_FILE, df, cf)
            if r < 0 and ctypes.get_errno() == 38:
                print("ENOSYS"); sys.exit(0)
            if r == 0:
                out.append("worker %d fd %d = daemon fd %d (%s)" % (k, cf, df, os.readlink("/proc/%d/fd/%d" % (d, df))))
print("; ".join(out))
PY
)
if [ "$(uname -m)" != x86_64 ]; then
	skip "worker.no_shared_ofd: the kcmp syscall number here is x86_64's"
elif [ "$shared" = ENOSYS ]; then
	skip "worker.no_shared_ofd: kcmp not in this kernel"
else
	check worker.no_shared_ofd "workers $(kids | tr '\n' ' '): $shared" [ -z "$shared" ]
fi
wait $jpid; jpid=
reply_ok() { jq -e '.v == 1 and (.error // "" | test("worker process died") | not)' "$1" >/dev/null 2>&1; }
check worker.reply "$(cat $d/job.out)" reply_ok "$d/job.out"

for i in $(seq 1 40); do [ "$(kids | wc -l)" = 1 ] && break; sleep 0.1; done
s1=$(kids)
kill -HUP $pid
for i in $(seq 1 40); do s2=$(kids | grep -vx "$s1"); [ -n "$s2" ] && break; sleep 0.1; done
check worker.reload_new_spare "before $s1, after: $(kids | tr '\n' ' ')" [ -n "$s2" ]

for i in $(seq 1 60); do [ "$(kids | wc -l)" = 1 ] && break; sleep 0.1; done
kill -9 $(kids) 2>/dev/null
sleep 0.2
"$S" "$sock" '{"op":"release","domain":"vm1"}\n' >"$d/job2.out" 2>&1
check worker.spare_killed "$(cat $d/job2.out)" reply_ok "$d/job2.out"
# Workers that exit are reaped when they exit (SIGCHLD on the daemon's
# signalfd; no waitpid per loop turn): no zombie child is left.
zombies() { ps --ppid "$pid" -o pid=,stat= 2>/dev/null | awk '$2 ~ /^Z/ { print $1 }'; }
for i in $(seq 1 50); do [ -z "$(zombies)" ] && break; sleep 0.1; done
check worker.reaped "zombie children of the daemon: $(zombies | tr '\n' ' ')" [ -z "$(zombies)" ]
kill -TERM $pid; wait $pid; rc=$? pid=
check worker.clean_exit "rc=$rc $(tail -n 3 $d/log)" [ $rc = 0 ]
