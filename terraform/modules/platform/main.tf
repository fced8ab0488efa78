# Cluster services taskstream needs, installed with the helm provider:
#   - Traefik (ingress controller, WebSocket-friendly timeouts, one cloud load balancer)
#   - CloudNativePG operator (runs the in-cluster Postgres of k8s/components/postgres-cnpg)
#   - Redpanda (the broker), values from redpanda/helm/values.yaml
#   - metrics-server (HPA metrics) where the cloud does not ship one
# Redis is a plain StatefulSet in k8s/components/redis (one primary, AOF) applied with the app.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = ">= 2.17.0, < 3.0.0"
    }
  }
}

resource "helm_release" "traefik" {
  name             = "traefik"
  namespace        = "ingress"
  create_namespace = true
  repository       = "https://traefik.github.io/charts"
  chart            = "traefik"
  version          = var.traefik_chart_version
  atomic           = true
  timeout          = 600

  # WebSocket connections idle for long stretches: no read/write timeout on the entry
  # points (Traefik >= 2.11.2 defaults readTimeout to 60 s, which would cut them).
  values = [yamlencode({
    deployment          = { replicas = 2 }
    podDisruptionBudget = { enabled = true, maxUnavailable = 1 }
    ingressClass        = { enabled = true, isDefaultClass = true, name = "traefik" }
    ports = {
      web = {
        transport = { respondingTimeouts = { readTimeout = 0, writeTimeout = 0, idleTimeout = 3600 } }
      }
      websecure = {
        transport = { respondingTimeouts = { readTimeout = 0, writeTimeout = 0, idleTimeout = 3600 } }
      }
    }
    service = { annotations = var.load_balancer_annotations }
  })]
}

resource "helm_release" "cnpg" {
  name             = "cnpg"
  namespace        = "cnpg-system"
  create_namespace = true
  repository       = "https://cloudnative-pg.github.io/charts"
  chart            = "cloudnative-pg"
  version          = var.cnpg_chart_version
  atomic           = true
  timeout          = 600
}

resource "helm_release" "redpanda" {
  count            = var.install_redpanda ? 1 : 0
  name             = "redpanda"
  namespace        = "redpanda"
  create_namespace = true
  repository       = "https://charts.redpanda.com"
  chart            = "redpanda"
  version          = var.redpanda_chart_version
  timeout          = 900
  wait             = true

  values = [file(var.redpanda_values_file)]

  set {
    name  = "statefulset.replicas"
    value = var.redpanda_replicas
  }

  set {
    name  = "storage.persistentVolume.size"
    value = var.redpanda_storage_size
  }

  set {
    name  = "storage.persistentVolume.storageClass"
    value = var.storage_class
  }
}

resource "helm_release" "metrics_server" {
  count      = var.install_metrics_server ? 1 : 0
  name       = "metrics-server"
  namespace  = "kube-system"
  repository = "https://kubernetes-sigs.github.io/metrics-server/"
  chart      = "metrics-server"
  version    = var.metrics_server_chart_version
  atomic     = true
}
