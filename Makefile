# Conveniences over scripts/: each target installs what is missing first.
.PHONY: build demo test bench shim clean

build:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# graft against PyTorch, side by side; figures go to BENCHMARKS.md by hand.
bench: build
	build/bin/graft bench --rss --threads 2

shim:
	$(MAKE) -C torch/shim

clean:
	rm -rf build
