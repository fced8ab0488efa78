variable "region" {
  description = "Civo region, e.g. LON1, FRA1, NYC1, PHX1."
  type        = string
  default     = "LON1"
  validation {
    condition     = can(regex("^[A-Z]{3}[0-9]$", var.region))
    error_message = "region must be a Civo region code such as LON1."
  }
}

variable "kubernetes_version" {
  description = "Civo k3s version (`civo kubernetes versions`), e.g. 1.30.5-k3s1."
  type        = string
  default     = "1.30.5-k3s1"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}\\.[0-9]+-k3s[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.30.5-k3s1."
  }
}

variable "node_size" {
  description = "Civo node size. g4s.kube.large = 4 vCPU / 8 GB (about 43 USD/month each)."
  type        = string
  default     = "g4s.kube.large"
  validation {
    condition     = can(regex("^g[0-9][a-z]*\\.kube\\.[a-z0-9]+$", var.node_size))
    error_message = "node_size must be a Civo Kubernetes size such as g4s.kube.large."
  }
}

variable "node_count" {
  description = "Number of worker nodes (>= 3: one Redpanda broker per node)."
  type        = number
  default     = 3
  validation {
    condition     = var.node_count >= 3 && var.node_count <= 50
    error_message = "node_count must be between 3 and 50."
  }
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to reach the Kubernetes API on 6443 (your office or VPN; 0.0.0.0/0 is refused)."
  type        = list(string)
  validation {
    condition     = length(var.api_allowed_cidrs) > 0 && alltrue([for c in var.api_allowed_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "api_allowed_cidrs must be a non-empty list of CIDRs, not 0.0.0.0/0."
  }
}
