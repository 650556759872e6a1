# Thin aliases over scripts/. Every target installs what it needs first (scripts/setup.sh).
.PHONY: all setup build user run test bench debug clean fuzz

CMD ?=
EXTRA ?=

all: build

setup:
	@scripts/setup.sh

build: setup
	@scripts/build-user.sh
	@scripts/build-kernel.sh default

user: setup
	@scripts/build-user.sh

# make run                  interactive monitor on the console (Ctrl-A X quits QEMU)
# make run CMD='hello'      run CMD, print its output, exit with its status
# make run EXTRA=DIR        add DIR's contents to the root file system at /
run: build
	@scripts/run.sh $(if $(CMD),-c "$(CMD)") $(if $(EXTRA),-e "$(EXTRA)")

test: setup
	@scripts/test.sh

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
