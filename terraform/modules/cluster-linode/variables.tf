variable "name" {
  description = "Cluster label (3-32 characters: letters, digits, dashes)."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 3-32 characters of letters, digits and dashes, not starting or ending with a dash."
  }
}

variable "region" {
  description = "Linode region, e.g. us-ord, eu-central, ap-south."
  type        = string
}

variable "kubernetes_version" {
  description = "LKE Kubernetes minor version, e.g. \"1.33\"."
  type        = string
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like \"1.33\"."
  }
}

variable "node_type" {
  description = "Linode plan of the worker nodes, e.g. g6-standard-4 (4 vCPU, 8 GB)."
  type        = string
}

variable "node_count" {
  description = "Initial and minimum number of worker nodes (Redpanda needs 3 for replication factor 3)."
  type        = number
  validation {
    condition     = var.node_count >= 3 && var.node_count <= 100
    error_message = "node_count must be between 3 and 100."
  }
}

variable "node_count_max" {
  description = "Maximum number of worker nodes for the LKE autoscaler."
  type        = number
}

variable "ha_control_plane" {
  description = "Use LKE's high-availability control plane (billed extra)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags put on the cluster."
  type        = list(string)
  default     = ["taskstream"]
}
