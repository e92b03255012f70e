# vfagent: manage SR-IOV Virtual Functions on VM hosts.
# make            build ./vfagent (no root needed)
# make check      install deps if missing, build, run every test, print a summary
# make demo       boot the SR-IOV lab and run the demo in it
# make deps       install build/test/lab dependencies (Debian 12/13, root)
# make asan       build with AddressSanitizer + UBSan (./vfagent-asan)
# make fuzz       build the libFuzzer harnesses (clang)
# make fuzz-long  run each harness for >= 1M execs; prints execs and crashes
# make bench      install deps if missing, run the benchmarks in the lab
# make bench-scale  the same for cost vs host size (lab with 4 PFs)
# make LIBVIRT=0  build without libvirt (no --domain)
# make install    install under PREFIX (default /usr/local), DESTDIR honoured
# make deb        build the Debian package (../vfagent_VERSION_ARCH.deb)
# make tiny       LIBVIRT=0, -Os, --gc-sections, stripped (./vfagent-tiny)
# make k8s        build the Kubernetes device plugin (Go, Debian packages; k8s/)

CC       ?= cc
LIBVIRT  ?= 1
WERROR   ?= 0
PKGS     := libmnl libpci json-c inih
# The version lives in one place: the top entry of debian/changelog.
VERSION  := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
# pkg-config runs once, on first use, and quietly: "make deps" may not have
# run yet (check-build-deps says what is missing when something is built).
once      = $(eval $(1) := $$(shell ($(2)) 2>/dev/null))$($(1))
PKG_CFLAGS = $(call once,PKG_CFLAGS,pkg-config --cflags $(PKGS))
PKG_LIBS   = $(call once,PKG_LIBS,pkg-config --libs $(PKGS))
ifeq ($(LIBVIRT),1)
# libvirt's headers only: agent/virt.c loads libvirt.so.0 on first use.
VIRT_PKG    := libvirt
VIRT_CFLAGS = $(call once,VIRT_CFLAGS,pkg-config --cflags libvirt)
VIRT_LIBS   = $(call once,VIRT_LIBS,pkg-config --libs libvirt)
endif
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN     += -Werror
endif
CFLAGS   ?= -O2 -g
CPPFLAGS += -I. -D_GNU_SOURCE -DVFAGENT_LIBVIRT=$(LIBVIRT) -DVFAGENT_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(VIRT_CFLAGS)
LDLIBS   += $(PKG_LIBS) -ldl

NL_SRC    := $(wildcard nl/*.c)
PCI_SRC   := $(wildcard pci/*.c)
VFIO_SRC  := $(wildcard vfio/*.c)
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
LIB_SRC   := $(NL_SRC) $(PCI_SRC) $(VFIO_SRC) $(AGENT_SRC)
LIB_OBJ   := $(LIB_SRC:.c=.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:.c=)
HELP_SRC  := $(wildcard tests/lab/*.c) $(wildcard bench/*.c)
HELP_BIN  := $(HELP_SRC:.c=)
HELP_BIN  += bench/memprobe.so

.PHONY: all check deps demo asan fuzz fuzz-long bench clean unit check-build-deps install deb tiny
all: vfagent $(UNIT_BIN) $(HELP_BIN)

# One clear line instead of a screen of missing-header errors.
check-build-deps:
	@pkg-config --exists $(PKGS) $(VIRT_PKG) 2>/dev/null || { \
	  echo "vfagent: missing build dependencies:$$(for p in $(PKGS) $(VIRT_PKG); do pkg-config --exists $$p 2>/dev/null || printf ' %s' $$p; done) (run: make deps, as root)" >&2; exit 1; }

$(LIB_OBJ) agent/main.o: | check-build-deps
agent/main.o: debian/changelog

# The flags of the last build: a build with other ones (make asan, make
# tiny) leaves objects that the next make rebuilds, so a sanitized or
# libvirt-less ./vfagent never outlives its target (make check, bench, deb).
BUILD_FLAGS = $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)
.PHONY: FORCE
.build-flags: FORCE
	@f='$(subst ','\'',$(BUILD_FLAGS))'; \
	test "$$f" = "$$(cat $@ 2>/dev/null)" || echo "$$f" >$@

%.o: %.c $(wildcard */*.h) .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

libvfagent.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

vfagent: agent/main.o libvfagent.a .build-flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ agent/main.o libvfagent.a $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) libvfagent.a .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libvfagent.a $(LDLIBS)

tests/lab/%: tests/lab/%.c libvfagent.a .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libvfagent.a $(LDLIBS) -lm

# Runs inside the CDI test's container (busybox only): static, no libraries
# (so never sanitized: -static and -fsanitize=address do not link).
tests/lab/vfio_tool: tests/lab/vfio_tool.c .build-flags
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(filter-out -fsanitize=%,$(CFLAGS)) -static -o $@ $<

bench/%: bench/%.c libvfagent.a .build-flags
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libvfagent.a $(LDLIBS) $(VIRT_LIBS) -lm

deps:
	sh tests/deps.sh

# Optional: plain `make` never needs Go; `make check` builds and tests this.
.PHONY: k8s
k8s:
	sh k8s/build.sh

unit: all
	sh tests/check.sh unit

check:
	sh tests/check.sh

demo:
	sh tests/deps.sh
	$(MAKE) WERROR=1 all
	sh tests/lab/run.sh --timeout 900 sh tests/lab/demo.sh

# ASan intercepts xdr_*: unless libtirpc is loaded at start (libvirt comes
# by dlopen), the interceptors call NULL at the first libvirt RPC.
ifeq ($(LIBVIRT),1)
ASAN_LIBS := -Wl,--no-as-needed -l:libtirpc.so.3 -Wl,--as-needed
endif
asan:
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address,undefined $(ASAN_LIBS)" all
	cp vfagent vfagent-asan

# make bench's soak mode: a second vfagent built with ASan + UBSan in one
# step, so ./vfagent and the objects stay as they are (not -Werror: -O1
# with the sanitizers trips format-truncation warnings the -O2 build has not).
bench/vfagent-asan: agent/main.c $(LIB_SRC) $(wildcard */*.h) | check-build-deps
	$(CC) $(CPPFLAGS) -std=gnu11 $(filter-out -Werror,$(WARN)) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(PKG_CFLAGS) $(VIRT_CFLAGS) -o $@ agent/main.c $(LIB_SRC) -fsanitize=address,undefined $(ASAN_LIBS) $(LDLIBS)

# make bench's soak: the daemon's heap seen from inside it (LD_PRELOAD by
# bench/serve_bench soak only; never linked into vfagent). Not in bench/*.c: no main.
bench/memprobe.so: bench/preload/memprobe.c
	$(CC) -std=gnu11 $(WARN) -O2 -fPIC -shared -pthread -o $@ $< -ldl

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:.c=)
fuzz: $(FUZZ_BIN)
fuzz-long: fuzz
	sh tests/fuzz/long.sh
tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC)
	clang $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) $(VIRT_CFLAGS) -o $@ $^ $(LDLIBS)

bench:
	sh tests/deps.sh
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 bench/vfagent-asan bench/memprobe.so
	sh bench/run.sh

# Per-request cost against host size (one PF vs four, 1 vs 28 leases): a
# lab boot of its own with 4 PFs (bench/scale_lab.sh, bench/README.md).
.PHONY: bench-scale
bench-scale:
	sh tests/deps.sh
	$(MAKE) WERROR=1 all
	sh bench/scale_lab.sh

# Appliance build: no libvirt, small code, unused sections dropped, stripped.
# STATIC=1 also links json-c and inih in (Debian ships their .a; libmnl and
# libpci have none), leaving libmnl, libpci and libc to the appliance.
STATIC   ?= 0
STATIC_LIBS := -lmnl -lpci -Wl,-Bstatic -ljson-c -linih -Wl,-Bdynamic
TINY_LIBS = $(if $(filter 1,$(STATIC)),PKG_LIBS="$(STATIC_LIBS)")
tiny:
	$(MAKE) clean
	$(MAKE) LIBVIRT=0 CFLAGS="-Os -ffunction-sections -fdata-sections" LDFLAGS="-Wl,--gc-sections -Wl,--as-needed -s" $(TINY_LIBS) vfagent
	cp vfagent vfagent-tiny

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/vfagent
SYSCONFDIR ?= /etc
UNITDIR    ?= $(or $(call once,SD_UNITDIR,pkg-config --variable=systemdsystemunitdir systemd),/lib/systemd/system)
GENDIR     ?= $(or $(call once,SD_GENDIR,pkg-config --variable=systemdsystemgeneratordir systemd),/lib/systemd/system-generators)
UDEVDIR    ?= $(or $(call once,SD_UDEVDIR,pkg-config --variable=udevdir udev),/lib/udev)
BASHCOMPDIR ?= $(or $(call once,SD_BASHCOMP,pkg-config --variable=completionsdir bash-completion),/usr/share/bash-completion/completions)
MODLOADDIR ?= $(or $(call once,SD_MODLOAD,pkg-config --variable=modulesloaddir systemd),/usr/lib/modules-load.d)
UNITS      := etc/vfagent.service etc/vfagent-setup.service

# The units name /usr/sbin/vfagent; other prefixes get their own path.
install: vfagent
	install -D -m 755 vfagent $(DESTDIR)$(SBINDIR)/vfagent
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(GENDIR)
	for u in $(UNITS); do \
	  sed 's|/usr/sbin/vfagent|$(SBINDIR)/vfagent|g' $$u >$(DESTDIR)$(UNITDIR)/$${u#etc/} && \
	  chmod 644 $(DESTDIR)$(UNITDIR)/$${u#etc/} || exit 1; done
	sed 's|/etc/vfagent/|$(SYSCONFDIR)/vfagent/|g' etc/vfagent-generator >$(DESTDIR)$(GENDIR)/vfagent-generator
	chmod 755 $(DESTDIR)$(GENDIR)/vfagent-generator
	install -D -m 644 etc/70-vfagent.rules $(DESTDIR)$(UDEVDIR)/rules.d/70-vfagent.rules
	install -D -m 644 etc/modules-load.conf $(DESTDIR)$(MODLOADDIR)/vfagent.conf
	# The installed config names no PF until its owner says which: setup must
	# not take over a NIC (eth0 may be the host's own link) on first boot.
	[ -e $(DESTDIR)$(SYSCONFDIR)/vfagent/vfagent.conf ] || { \
	  mkdir -p $(DESTDIR)$(SYSCONFDIR)/vfagent && \
	  sed -e '1s/.*/# vfagent configuration (INI), see vfagent.conf(5). Uncomment a pool, set its PF, then:/' \
	      -e '2s/.*/#   systemctl restart vfagent-setup.service vfagent.service/' \
	      -e 's/^\([a-z[]\)/# \1/' etc/vfagent.conf.example >$(DESTDIR)$(SYSCONFDIR)/vfagent/vfagent.conf; }
	install -D -m 644 doc/vfagent.8 $(DESTDIR)$(MANDIR)/man8/vfagent.8
	install -D -m 644 doc/vfagent.conf.5 $(DESTDIR)$(MANDIR)/man5/vfagent.conf.5
	install -D -m 644 etc/bash-completion $(DESTDIR)$(BASHCOMPDIR)/vfagent

# Built in a copy of the tree (dpkg-buildpackage writes to ../), the .deb
# lands here: vfagent_VERSION_ARCH.deb. Needs debhelper (make deps).
deb:
	@command -v dh >/dev/null || { echo "vfagent: debhelper is missing (run: make deps, as root)" >&2; exit 1; }
	rm -rf .deb-build && mkdir -p .deb-build/vfagent
	tar -cf - --exclude=./.git --exclude=./.deb-build . | tar -xf - -C .deb-build/vfagent
	cd .deb-build/vfagent && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -n 30 ../build.log >&2; exit 1; }
	cp .deb-build/vfagent_$(VERSION)_*.deb .
	rm -rf .deb-build
	@ls vfagent_$(VERSION)_*.deb

clean:
	rm -rf .deb-build
	rm -f vfagent vfagent-tiny vfagent-asan libvfagent.a .build-flags */*.o tests/*/*.o $(UNIT_BIN) $(HELP_BIN) $(FUZZ_BIN)
	rm -rf k8s/bin k8s/.build k8s/api/*/*/*.pb.go
