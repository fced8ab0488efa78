variable "name" {
  description = "Cluster name (3-32 characters: lowercase letters, digits, dashes)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and dashes."
  }
}

variable "region" {
  description = "Civo region, e.g. LON1, FRA1, NYC1, PHX1."
  type        = string
}

variable "kubernetes_version" {
  description = "Civo k3s version string, e.g. \"1.30.5-k3s1\" (`civo kubernetes versions`)."
  type        = string
}

variable "node_size" {
  description = "Civo node size, e.g. g4s.kube.large (4 vCPU, 8 GB)."
  type        = string
}

variable "node_count" {
  description = "Number of worker nodes (Redpanda needs 3 for replication factor 3)."
  type        = number
  validation {
    condition     = var.node_count >= 3 && var.node_count <= 50
    error_message = "node_count must be between 3 and 50."
  }
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to reach the Kubernetes API (6443). Narrow this to your office/VPN."
  type        = list(string)
}
