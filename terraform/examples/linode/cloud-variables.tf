variable "region" {
  description = "Linode region for the cluster, e.g. us-ord (Chicago), eu-central (Frankfurt)."
  type        = string
  default     = "us-ord"
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+(-[0-9])?$", var.region))
    error_message = "region must be a Linode region id such as us-ord or eu-central."
  }
}

variable "kubernetes_version" {
  description = "LKE Kubernetes version (`linode-cli lke versions-list`)."
  type        = string
  default     = "1.33"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like \"1.33\"."
  }
}

variable "node_type" {
  description = "Linode plan of the worker nodes. g6-standard-4 = 4 vCPU / 8 GB (about 48 USD/month each)."
  type        = string
  default     = "g6-standard-4"
  validation {
    condition     = can(regex("^g[0-9]+-[a-z]+-[0-9]+$", var.node_type))
    error_message = "node_type must be a Linode plan id such as g6-standard-4."
  }
}

variable "node_count" {
  description = "Initial and minimum number of worker nodes (>= 3: one Redpanda broker per node)."
  type        = number
  default     = 3
  validation {
    condition     = var.node_count >= 3
    error_message = "node_count must be at least 3."
  }
}

variable "node_count_max" {
  description = "Maximum number of worker nodes for the LKE autoscaler."
  type        = number
  default     = 6
  validation {
    condition     = var.node_count_max >= 3 && var.node_count_max <= 100
    error_message = "node_count_max must be between 3 and 100."
  }
}

variable "ha_control_plane" {
  description = "Use LKE's high-availability control plane (about 60 USD/month extra)."
  type        = bool
  default     = false
}
