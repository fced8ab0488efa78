# A Civo Kubernetes (k3s) cluster in its own network, with a firewall that opens only
# HTTP(S) and the API server.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    civo = {
      source  = "civo/civo"
      version = ">= 1.1.7, < 2.0.0"
    }
  }
}

resource "civo_network" "this" {
  label  = var.name
  region = var.region
}

resource "civo_firewall" "this" {
  name                 = "${var.name}-fw"
  region               = var.region
  network_id           = civo_network.this.id
  create_default_rules = false

  ingress_rule {
    label      = "http"
    protocol   = "tcp"
    port_range = "80"
    cidr       = ["0.0.0.0/0"]
    action     = "allow"
  }

  ingress_rule {
    label      = "https"
    protocol   = "tcp"
    port_range = "443"
    cidr       = ["0.0.0.0/0"]
    action     = "allow"
  }

  ingress_rule {
    label      = "kubernetes-api"
    protocol   = "tcp"
    port_range = "6443"
    cidr       = var.api_allowed_cidrs
    action     = "allow"
  }

  egress_rule {
    label      = "all"
    protocol   = "tcp"
    port_range = "1-65535"
    cidr       = ["0.0.0.0/0"]
    action     = "allow"
  }

  egress_rule {
    label      = "dns"
    protocol   = "udp"
    port_range = "1-65535"
    cidr       = ["0.0.0.0/0"]
    action     = "allow"
  }
}

resource "civo_kubernetes_cluster" "this" {
  name               = var.name
  region             = var.region
  network_id         = civo_network.this.id
  firewall_id        = civo_firewall.this.id
  cluster_type       = "k3s"
  cni                = "cilium" # enforces NetworkPolicies
  kubernetes_version = var.kubernetes_version
  # Civo's default marketplace Traefik is replaced by the one of modules/platform.
  applications     = "-traefik2-nodeport,metrics-server"
  write_kubeconfig = true

  pools {
    label      = "${var.name}-pool"
    size       = var.node_size
    node_count = var.node_count
  }
}

locals {
  kubeconfig = yamldecode(civo_kubernetes_cluster.this.kubeconfig)
}
