# make demo: install into .venv and denoise the sample images (noise estimated), with PSNR/SSIM.
# make test: install with the test and dask extras and run the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATASETS ?= ../shared/datasets
NOISE_SETS = --dataset Set12=$(DATASETS)/Set12 --dataset BSD68=$(DATASETS)/BSD68 --dataset CBSD68=$(DATASETS)/CBSD68

.PHONY: install install-test demo test fuzz regress bench samples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/denoise warmup
	@for m in attention nlm median bilateral lark weighted-median; do \
	  echo "== $$m: sample_images/noisy -> out/$$m"; \
	  $(BIN)/denoise run sample_images/noisy -o out/$$m -m $$m --overwrite || exit 1; \
	done
	@echo "== noisy input (PSNR/SSIM against sample_images/clean)"
	@$(BIN)/denoise eval --clean sample_images/clean --denoised sample_images/noisy
	@for m in attention nlm median bilateral lark weighted-median; do \
	  echo "== $$m"; $(BIN)/denoise eval --clean sample_images/clean --denoised out/$$m || exit 1; \
	done

test: install-test
	$(BIN)/python -m pytest
	$(BIN)/denoise -q regress

# make fuzz: property-based fuzzing of every method, 10000 examples per property (slow
# methods fewer, still over 10000 per method; DENOISE_FUZZ_EXAMPLES=N); prints the counts.
fuzz: install-test
	DENOISE_FUZZ=1 $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

# make bench: the standard suite on ../shared/datasets (or DATASETS=dir): every method
# of ours and every installed reference (--against all; `denoise bench` alone runs only
# the references of the families run), HTML reports in benchmarks/report/<suite>/,
# BENCHMARKS.md from their results. Each suite runs in a fresh process with an empty
# Numba cache, so "first call" is the compile time. BM3D runs on the first 17
# images of BSD68 and CBSD68 (about 5 and 12 s per image on 2 cores).
REPORT := benchmarks/report
SUITES := set12 bsd68 cbsd68 set12-1thread
SUITE_set12         := --dataset $(DATASETS)/Set12 --sigma 15,25,50 --against all
SUITE_bsd68         := --dataset $(DATASETS)/BSD68 --sigma 15,25,50 --against all --limit-method ref:bm3d=17
SUITE_cbsd68        := --dataset $(DATASETS)/CBSD68 --sigma 25 --against all --limit-method ref:bm3d=17
SUITE_set12-1thread := --dataset $(DATASETS)/Set12 --sigma 25 --threads 1 --against all
LARK_STOPPING := --dataset $(DATASETS)/Set12 --dataset $(DATASETS)/BSD68 --limit 20 --max-iterations 14

define run_suite
	@echo "== bench $(1)"
	@echo "denoise bench $(SUITE_$(1)) --report $(REPORT)/$(1)" >> $(REPORT)/commands.txt
	cache=$$(mktemp -d) && NUMBA_CACHE_DIR=$$cache $(BIN)/denoise bench $(SUITE_$(1)) --report $(REPORT)/$(1) --overwrite > $(REPORT)/$(1).txt; rc=$$?; rm -rf $$cache; exit $$rc
	@cat $(REPORT)/$(1).txt

endef

bench: install-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@test -d $(DATASETS)/Set12 || { echo "make bench: no data sets in $(DATASETS) (set DATASETS=dir)"; exit 2; }
	@mkdir -p $(REPORT) && rm -f $(REPORT)/commands.txt
	$(foreach s,$(SUITES),$(call run_suite,$(s)))
	@echo "== NLM at equal work against OpenCV and scikit-image, and peak memory"
	@echo "python benchmarks/nlm_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/nlm_speed.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/nlm_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/nlm_speed.md
	@echo "== LARK stopping rule against the best iteration counts, and speed"
	@echo "python benchmarks/lark_stopping.py $(LARK_STOPPING) --output $(REPORT)/lark_stopping.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/lark_stopping.py $(LARK_STOPPING) --output $(REPORT)/lark_stopping.md
	@echo "== First run: cold and warm denoise run per method, in fresh processes"
	@echo "python benchmarks/first_run.py --dataset $(DATASETS)/Set12 --color $(DATASETS)/CBSD68 --output $(REPORT)/first_run.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/first_run.py --dataset $(DATASETS)/Set12 --color $(DATASETS)/CBSD68 --output $(REPORT)/first_run.md
	@echo "== attention: what each idea is worth (ablation at sigma 25)"
	@echo "python benchmarks/attention_ablation.py --dataset $(DATASETS)/Set12 --dataset $(DATASETS)/BSD68 --output $(REPORT)/attention_ablation.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/attention_ablation.py --dataset $(DATASETS)/Set12 --dataset $(DATASETS)/BSD68 --output $(REPORT)/attention_ablation.md
	@echo "== Median family: speed against SciPy and OpenCV, impulse and mixed noise"
	@echo "python benchmarks/median_family.py --dataset $(DATASETS)/Set12 --output $(REPORT)/median_family.md" >> $(REPORT)/commands.txt
	cache=$$(mktemp -d) && NUMBA_CACHE_DIR=$$cache $(BIN)/python benchmarks/median_family.py --dataset $(DATASETS)/Set12 --output $(REPORT)/median_family.md; rc=$$?; rm -rf $$cache; exit $$rc
	@echo "== Noise: estimation, noise-level function, sigma auto, Poisson-Gaussian, camera noise"
	@echo "python benchmarks/noise_targets.py --part estimate,nlf,auto,pg,camera $(NOISE_SETS) --output-dir $(REPORT)" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/noise_targets.py --part estimate,nlf,auto,pg,camera $(NOISE_SETS) --output-dir $(REPORT)
	@echo "== tune: self-supervised choices against the clean-chosen best"
	@echo "python benchmarks/tune_accuracy.py --dataset $(DATASETS)/Set12 --methods nlm,bilateral,median,attention --output $(REPORT)/tune_accuracy.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/tune_accuracy.py --dataset $(DATASETS)/Set12 --methods nlm,bilateral,median,attention --output $(REPORT)/tune_accuracy.md
	@echo "python benchmarks/tune_accuracy.py --dataset $(DATASETS)/CBSD68 --noise camera --limit 17 --methods nlm,bilateral,median --output $(REPORT)/tune_camera.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/tune_accuracy.py --dataset $(DATASETS)/CBSD68 --noise camera --limit 17 --methods nlm,bilateral,median --output $(REPORT)/tune_camera.md
	@echo "== RNI15: real noise, montage of denoise run with every default"
	@echo "python benchmarks/rni15_montage.py --dataset $(DATASETS)/RNI15 --output $(REPORT)/rni15 --publish docs/rni15.jpg" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/rni15_montage.py --dataset $(DATASETS)/RNI15 --output $(REPORT)/rni15 --publish docs/rni15.jpg
	@echo "== Scale: --jobs, threads and Dask on 200 images; a 20000x20000 TIFF in tiles"
	@echo "python benchmarks/scale.py --dataset $(DATASETS)/BSD68 --repeat 3 --output $(REPORT)/scale.md" >> $(REPORT)/commands.txt
	$(BIN)/python -m pip install --quiet -e '.[dask]'
	$(BIN)/python benchmarks/scale.py --dataset $(DATASETS)/BSD68 --repeat 3 --output $(REPORT)/scale.md
	@echo "== Fast kernels: bilateral against OpenCV at equal taps, the constant-time bilateral, LARK and weighted-median speed"
	@echo "python benchmarks/bilateral_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/bilateral_speed.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/bilateral_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/bilateral_speed.md
	@echo "python benchmarks/bilateral_fast.py --dataset $(DATASETS)/Set12 --output $(REPORT)/bilateral_fast.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/bilateral_fast.py --dataset $(DATASETS)/Set12 --output $(REPORT)/bilateral_fast.md
	@echo "python benchmarks/lark_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/lark_speed.md --repeats 2" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/lark_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/lark_speed.md --repeats 2
	@echo "python benchmarks/wmedian_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/wmedian_speed.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/wmedian_speed.py --dataset $(DATASETS)/Set12 --output $(REPORT)/wmedian_speed.md
	@echo "== Drop-in calls (denoise.compat) against scikit-image and OpenCV"
	@echo "python benchmarks/compat.py --dataset $(DATASETS)/Set12 --output $(REPORT)/compat.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/compat.py --dataset $(DATASETS)/Set12 --output $(REPORT)/compat.md
	@echo "== Float data in [0, 1], 8-bit and 16-bit units"
	@echo "python benchmarks/float_units.py --dataset $(DATASETS)/Set12 --output $(REPORT)/float_units.md" >> $(REPORT)/commands.txt
	$(BIN)/python benchmarks/float_units.py --dataset $(DATASETS)/Set12 --output $(REPORT)/float_units.md
	$(BIN)/python benchmarks/summarize.py $(REPORT) $(SUITES) --commands $(REPORT)/commands.txt --extra $(REPORT)/nlm_speed.md --extra $(REPORT)/lark_stopping.md --extra $(REPORT)/median_family.md --extra $(REPORT)/attention_ablation.md --extra $(REPORT)/first_run.md $(foreach p,estimate nlf auto pg camera,--extra $(REPORT)/noise_$(p).md) --extra $(REPORT)/tune_accuracy.md --extra $(REPORT)/tune_camera.md --extra $(REPORT)/rni15.md --extra $(REPORT)/scale.md $(foreach x,bilateral_speed bilateral_fast lark_speed wmedian_speed compat float_units,--extra $(REPORT)/$(x).md) --output BENCHMARKS.md
	@echo "== BENCHMARKS.md written; reports: $(REPORT)/<suite>/index.html (make report: PNGs)"

# make report: each suite's report page as a browser shows it, rendered by headless
# Chromium (Debian: apt install chromium) to $(REPORT)/<suite>/index.png, to look at.
.PHONY: report
report: install
	$(BIN)/python benchmarks/render_report.py $(foreach s,$(SUITES),$(REPORT)/$(s))

# Quality regression check alone (make test runs it too); after a deliberate
# change: .venv/bin/denoise regress --update, and commit the baseline.
regress: install
	$(BIN)/denoise regress

samples: install
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf out build *.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o \( -name '*.nbi' -o -name '*.nbc' \) -print -exec rm -f {} +
