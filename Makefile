# Thin aliases over scripts/. Every target installs what it needs first (scripts/setup.sh).
.PHONY: all setup build user run test bench debug clean fuzz debian-root test-rust

CMD ?=
EXTRA ?=
FRESH ?=
RAMDISK ?=
# Harts QEMU boots (make run SMP=4; make run boots as many as the host has cores, at most 8:
# docs/smp.md); make test runs the user programs on 1 hart and on SMP harts (4 unless given).
SMP ?=
RUN_SMP := $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 8 ] && n=8; echo $$n)

all: build

setup:
	@scripts/setup.sh

build: setup
	@scripts/build-user.sh
	@scripts/build-kernel.sh default

user: setup
	@scripts/build-user.sh

# make run                  boot to a bash login shell on the console, the root file system
#                           Debian riscv64 packages (make debian-root) on ext4 on a virtio disk
#                           (exit or poweroff ends QEMU; Ctrl-A X quits QEMU at any time)
# make run CMD='ls | wc -l' run CMD with /bin/sh -c, print its output, exit with its status
# make run EXTRA=DIR        add DIR's contents to the root file system at /
# make run SMP=N            boot N harts (default: the host's cores, at most 8)
# The disk is build/rootfs.ext4, a copy of build/debian/rootfs.ext4 made when missing and kept
# otherwise (what you write there is there at the next `make run`); make run FRESH=1 copies it
# anew (a note says when the Debian image was remade since: a new package list). make run
# BUSYBOX=1 boots Velox's own busybox root instead (build/rootfs-busybox.ext4, scripts/mkdisk.sh),
# make run RAMDISK=1 that root in memory (nothing kept).
ROOTFS := build/rootfs.ext4
DEBIAN_IMG := build/debian/rootfs.ext4
BB_ROOTFS := build/rootfs-busybox.ext4
BUSYBOX ?=
run: build
	@if [ -n "$(BUSYBOX)" ]; then \
	    if [ -n "$(FRESH)" ] || [ ! -f $(BB_ROOTFS) ]; then echo "making $(BB_ROOTFS)"; scripts/mkdisk.sh $(BB_ROOTFS); fi; \
	elif [ -z "$(RAMDISK)" ]; then \
	    scripts/debian-root.sh >/dev/null; \
	    if [ -n "$(FRESH)" ] || [ ! -f $(ROOTFS) ]; then \
	        echo "copying $(DEBIAN_IMG) to $(ROOTFS)"; cp --sparse=always $(DEBIAN_IMG) $(ROOTFS).tmp && mv $(ROOTFS).tmp $(ROOTFS); \
	    elif [ $(DEBIAN_IMG) -nt $(ROOTFS) ]; then echo "note: $(DEBIAN_IMG) was remade; make run FRESH=1 boots a copy of it (and drops what $(ROOTFS) holds)"; fi; \
	fi
	@SMP=$(if $(SMP),$(SMP),$(RUN_SMP)) scripts/run.sh $(if $(RAMDISK),,-r $(if $(BUSYBOX),$(BB_ROOTFS),$(ROOTFS))) $(if $(CMD),-s -c "$(CMD)") $(if $(EXTRA),-e "$(EXTRA)")

test: setup
	@SMP=$(if $(SMP),$(SMP),4) scripts/test.sh

bench: setup
	@scripts/bench.sh

debug: build
	@scripts/debug.sh

# make fuzz                 the vfuzz syscall fuzzer in QEMU for FUZZ_SECONDS (300) with a random seed
# make fuzz SEED=N FUZZ_SECONDS=60   a given seed and duration (replayable)
FUZZ_SECONDS ?= 300
SEED ?=
fuzz: setup
	@FUZZ_SECONDS=$(FUZZ_SECONDS) SEED=$(SEED) scripts/fuzz.sh

# make debian-root          build/debian/rootfs.ext4: a root file system of Debian riscv64
#                           packages (suite forky; the list: rootfs/debian-packages.txt) with
#                           bash, python3, perl, lua, sqlite3, git, gcc, and Velox's test
#                           programs at /velox/bin (scripts/debian-root.sh; remade only when
#                           its inputs change). Boot it: scripts/run.sh -r build/debian/rootfs.ext4
debian-root: setup
	@scripts/build-user.sh
	@scripts/debian-root.sh

# make test-rust            Debian's rustc and cargo inside Velox (scripts/test-rust.sh; part of
#                           make test): a root with the Rust toolchain, build/debian-rust/
test-rust: build
	@scripts/test-rust.sh

clean:
	rm -rf build target
