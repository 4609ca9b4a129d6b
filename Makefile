# Conveniences over scripts/: each target installs what is missing first.
.PHONY: build demo test bench gpu-bundle shim clean

build:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# graft against PyTorch, side by side; figures go to BENCHMARKS.md by hand.
bench: build
	build/bin/graft bench --rss --threads 2

# What scripts/gpu_bench.sh needs on a GPU machine without Go: graft, the
# shim's sources and the script. There: tar xzf graft-gpu-bench.tar.gz &&
# graft-gpu-bench/gpu_bench.sh (README.md, "GPU benchmark").
gpu-bundle: build
	bash scripts/gpu_bench.sh --make-bundle build/graft-gpu-bench.tar.gz build/bin/graft

shim:
	$(MAKE) -C torch/shim

clean:
	rm -rf build
