# vfagent: manage SR-IOV Virtual Functions on VM hosts.
# make            build ./vfagent (no root needed)
# make check      install deps if missing, build, run every test, print a summary
# make demo       boot the SR-IOV lab and run the demo in it
# make deps       install build/test/lab dependencies (Debian 12/13, root)
# make asan       build with AddressSanitizer + UBSan (./vfagent-asan)
# make fuzz       build the libFuzzer harnesses (clang)
# make bench      install deps if missing, run the benchmarks in the lab
# make LIBVIRT=0  build without libvirt (no --domain)
# make k8s        build the Kubernetes device plugin (Go, Debian packages; k8s/)

CC       ?= cc
LIBVIRT  ?= 1
WERROR   ?= 0
PKGS     := libmnl libpci json-c inih
ifeq ($(LIBVIRT),1)
# libvirt's headers only: agent/virt.c loads libvirt.so.0 on first use.
VIRT_CFLAGS := $(shell pkg-config --cflags libvirt)
VIRT_LIBS   := $(shell pkg-config --libs libvirt)
endif
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN     += -Werror
endif
CFLAGS   ?= -O2 -g
CPPFLAGS += -I. -D_GNU_SOURCE -DVFAGENT_LIBVIRT=$(LIBVIRT)
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS)) $(VIRT_CFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -ldl

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

.PHONY: all check deps demo asan fuzz bench clean unit
all: vfagent $(UNIT_BIN) $(HELP_BIN)

%.o: %.c $(wildcard */*.h)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

libvfagent.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

vfagent: agent/main.o libvfagent.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/t.h libvfagent.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libvfagent.a $(LDLIBS)

tests/lab/%: tests/lab/%.c libvfagent.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libvfagent.a $(LDLIBS) -lm

bench/%: bench/%.c libvfagent.a
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

asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address,undefined" all
	cp vfagent vfagent-asan

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:.c=)
fuzz: $(FUZZ_BIN)
tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC)
	clang $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(shell pkg-config --cflags $(PKGS)) $(VIRT_CFLAGS) -o $@ $^ $(LDLIBS)

bench:
	sh tests/deps.sh
	$(MAKE) WERROR=1 all
	sh bench/run.sh

clean:
	rm -f vfagent vfagent-asan libvfagent.a */*.o tests/*/*.o $(UNIT_BIN) $(HELP_BIN) $(FUZZ_BIN)
	rm -rf k8s/bin k8s/.build k8s/api/*/*/*.pb.go
