# make demo: install into .venv and denoise the sample images, with PSNR/SSIM.
# make test: install with the test extra and run the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATASETS ?= ../shared/datasets
# sigma 25 in 8-bit units; the 16-bit sample takes the same level in its units.
SIGMA8  := 25
SIGMA16 := 6425

.PHONY: install install-test demo test bench samples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	@for m in median bilateral; do \
	  echo "== $$m: sample_images/noisy -> out/$$m"; \
	  $(BIN)/denoise run sample_images/noisy/*.png -o out/$$m -m $$m --sigma $(SIGMA8) --overwrite || exit 1; \
	  $(BIN)/denoise run sample_images/noisy/*.tif -o out/$$m -m $$m --sigma $(SIGMA16) --overwrite || exit 1; \
	done
	@echo "== noisy input (PSNR/SSIM against sample_images/clean)"
	@$(BIN)/denoise eval --clean sample_images/clean --denoised sample_images/noisy
	@for m in median bilateral; do \
	  echo "== $$m"; $(BIN)/denoise eval --clean sample_images/clean --denoised out/$$m || exit 1; \
	done

test: install-test
	$(BIN)/python -m pytest

# Benchmarks on the standard data sets (placeholder until the evaluation harness):
# our filters against OpenCV / scipy on Set12, written to BENCHMARKS.md.
bench: install-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/foundation.py --dataset $(DATASETS)/Set12 --output BENCHMARKS.md

samples: install
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf out build *.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o \( -name '*.nbi' -o -name '*.nbc' \) -print -exec rm -f {} +
