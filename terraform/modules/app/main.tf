# Applies the kustomize output of one k8s/ overlay with deploy/k8s-apply.sh (kubectl
# apply -k, the migrate and topics Jobs, rollout wait). Secrets (JWT, the database URL
# that CloudNativePG generates) are handed to the script through the environment of a
# provisioner, which Terraform does not store in state: the Secret taskstream-secrets is
# created in the cluster, not in Terraform.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.38.0, < 3.0.0"
    }
  }
}

locals {
  overlay_dir = "${var.repo_root}/k8s/overlays/${var.overlay}"
  # Re-apply when any manifest, the image or the host changes.
  manifests_hash = sha1(join(",", [
    for f in sort(fileset("${var.repo_root}/k8s", "**/*.yaml")) : filesha1("${var.repo_root}/k8s/${f}")
  ]))
}

resource "terraform_data" "kubeconfig" {
  triggers_replace = [var.kubeconfig_path, sha1(var.kubeconfig)]

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = "umask 077 && mkdir -p \"$(dirname \"$KUBECONFIG_PATH\")\" && printf '%s' \"$KUBECONFIG_CONTENT\" > \"$KUBECONFIG_PATH\""
    environment = {
      KUBECONFIG_PATH    = var.kubeconfig_path
      KUBECONFIG_CONTENT = var.kubeconfig
    }
  }
}

locals {
  # Re-apply when any setting the script reads changes. The secrets only as a hash (state keeps the
  # triggers): a rotated JWT secret or Redis password reaches the cluster on the next apply, and the
  # script's config-hash annotation then restarts the pods.
  settings = [var.kafka_brokers, var.jwt_jwks_url, var.jwt_issuer, var.jwt_audience, var.cors_origins, var.topic_prefix, sha256(var.kafka_ssl_ca_pem)]
  secrets_hash = nonsensitive(sha256(join("\n", [
    var.jwt_secret, var.database_url, var.redis_url, var.redis_password, var.kafka_sasl_username, var.kafka_sasl_password,
  ])))
}

resource "terraform_data" "apply" {
  triggers_replace = [local.manifests_hash, var.image, var.host, var.overlay, var.platform_ready, var.kafka_sasl_mechanism, var.kafka_ssl, local.settings, local.secrets_hash]
  depends_on       = [terraform_data.kubeconfig]

  provisioner "local-exec" {
    command = "\"${var.repo_root}/deploy/k8s-apply.sh\" \"${var.overlay}\""
    environment = {
      KUBECONFIG           = var.kubeconfig_path
      K8S_APPLY_LOG        = abspath("${path.root}/k8s-apply.log")
      TASKSTREAM_IMAGE     = var.image
      ROLLBACK             = var.rollback ? "1" : "0"
      TASKSTREAM_HOST      = var.host
      KAFKA_BROKERS        = var.kafka_brokers
      JWT_SECRET           = var.jwt_secret
      JWT_JWKS_URL         = var.jwt_jwks_url
      JWT_ISSUER           = var.jwt_issuer
      JWT_AUDIENCE         = var.jwt_audience
      CORS_ORIGINS         = var.cors_origins
      TOPIC_PREFIX         = var.topic_prefix
      DATABASE_URL         = var.database_url
      REDIS_URL            = var.redis_url
      REDIS_PASSWORD       = var.redis_password
      KAFKA_SASL_MECHANISM = var.kafka_sasl_mechanism
      KAFKA_SASL_USERNAME  = var.kafka_sasl_username
      KAFKA_SASL_PASSWORD  = var.kafka_sasl_password
      KAFKA_SSL            = var.kafka_ssl ? "true" : "false"
      KAFKA_SSL_CA_PEM     = var.kafka_ssl_ca_pem
    }
  }
}

data "kubernetes_service_v1" "ingress" {
  metadata {
    name      = "traefik"
    namespace = var.ingress_namespace
  }
  depends_on = [terraform_data.apply]
}

locals {
  lb      = try(data.kubernetes_service_v1.ingress.status[0].load_balancer[0].ingress[0], {})
  address = var.host != "" ? var.host : coalesce(try(local.lb.hostname, ""), try(local.lb.ip, ""), "pending")
  scheme  = var.host != "" && var.tls ? "https" : "http"
  ws      = var.host != "" && var.tls ? "wss" : "ws"
}
