# Deployment checks, included by the top-level Makefile (`include deploy/deploy.mk`).
# Tools are built once from the Go module proxy into ${TASKSTREAM_CACHE:-~/.cache/taskstream}/tools.
DEPLOY_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

deploy-check: ## checks without cloud access (starts a throwaway stack on ports 5xxxx): k8s overlays, Terraform, Dockerfile, compose (builds its tools once)
	@bash $(DEPLOY_MK_DIR)/check.sh

deploy-tools: ## build kustomize, OpenTofu, compose-lint and k8s-strict into ~/.cache/taskstream/tools
	@bash $(DEPLOY_MK_DIR)/install-tools.sh

deploy-render: ## print the rendered manifests of one overlay: make deploy-render OVERLAY=linode
	@bash $(DEPLOY_MK_DIR)/install-tools.sh kustomize >/dev/null
	@bash -c '. $(DEPLOY_MK_DIR)/lib.sh && "$$KUSTOMIZE" build k8s/overlays/$(or $(OVERLAY),local)'

.PHONY: deploy-check deploy-tools deploy-render
