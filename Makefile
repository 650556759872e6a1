# Thin aliases over scripts/. Every target installs what it needs first (scripts/setup.sh).
.PHONY: all setup build user run test bench debug clean fuzz

CMD ?=
EXTRA ?=
FRESH ?=
RAMDISK ?=
# Harts QEMU boots (make run SMP=4); make test runs the user programs on 1 hart and on SMP
# harts (4 unless given).
SMP ?=

all: build

setup:
	@scripts/setup.sh

build: setup
	@scripts/build-user.sh
	@scripts/build-kernel.sh default

user: setup
	@scripts/build-user.sh

# make run                  boot to busybox sh on the console (exit or poweroff ends QEMU;
#                           Ctrl-A X quits QEMU at any time)
# make run CMD='ls | wc -l' run CMD with /bin/sh -c, print its output, exit with its status
# make run EXTRA=DIR        add DIR's contents to the root file system at /
# make run SMP=N            boot N harts (default 1)
# The root file system is ext4 on a virtio disk, build/rootfs.ext4: made when missing, kept
# otherwise (what you write there is there at the next `make run`); make run FRESH=1 makes it
# anew. make run RAMDISK=1 boots with the root in memory instead (nothing kept).
ROOTFS := build/rootfs.ext4
run: build
	@if [ -n "$(FRESH)" ] || [ ! -f $(ROOTFS) ]; then echo "making $(ROOTFS)"; scripts/mkdisk.sh $(ROOTFS); fi
	@SMP=$(if $(SMP),$(SMP),1) scripts/run.sh $(if $(RAMDISK),,-r $(ROOTFS)) $(if $(CMD),-s -c "$(CMD)") $(if $(EXTRA),-e "$(EXTRA)")

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

clean:
	rm -rf build target
