# SPDX-License-Identifier: GPL-2.0
# The packet pipeline example: four shard programs and the route-file tool.

PIPELINE_BINS := $(addprefix examples/pipeline/,gen parse route sink mkroutes)
EXAMPLES += $(PIPELINE_BINS)

$(BUILD)/examples/pipeline/%.o: examples/pipeline/pkt.h examples/pipeline/stage.h \
	examples/pipeline/lpm.h examples/pipeline/routes.h

# `make demo`: the packet pipeline for about 10 seconds on this machine's
# default backend (the module when /dev/vanity exists, else the hosted
# simulator), then a summary. First what the hosted demo needs from Debian
# (tools/deps.sh demo: no kernel headers, no qemu), then the demo in a new
# make that sees it; only vanityctl, the library and the pipeline's
# programs are built (a module in use is already loaded).
.PHONY: demo demo-run
demo:
	+@$(DEPS) --install demo
	+@$(MAKE) --no-print-directory demo-run

demo-run: tools/vanityctl $(PIPELINE_BINS)
	@mkdir -p $(BUILD)
	tools/vanityctl run examples/pipeline/demo.ini -j > $(BUILD)/demo.log
	examples/pipeline/summary.sh < $(BUILD)/demo.log
