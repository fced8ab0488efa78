# An LKE (Linode Kubernetes Engine) cluster with one autoscaled node pool.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    linode = {
      source  = "linode/linode"
      version = ">= 3.1.0, < 4.0.0"
    }
  }
}

resource "linode_lke_cluster" "this" {
  label       = var.name
  k8s_version = var.kubernetes_version
  region      = var.region
  tags        = var.tags

  control_plane {
    high_availability = var.ha_control_plane
  }

  pool {
    type  = var.node_type
    count = var.node_count

    autoscaler {
      min = var.node_count
      max = var.node_count_max
    }
  }

  # The autoscaler changes the count; do not fight it on the next apply.
  lifecycle {
    ignore_changes = [pool[0].count]
  }
}

locals {
  kubeconfig_raw = base64decode(linode_lke_cluster.this.kubeconfig)
  kubeconfig     = yamldecode(local.kubeconfig_raw)
}
