variable "redpanda_values_file" {
  description = "Path of the Redpanda Helm values (redpanda/helm/values.yaml of this repository)."
  type        = string
}

variable "redpanda_replicas" {
  description = "Number of Redpanda brokers (3 for replication factor 3)."
  type        = number
  default     = 3
  validation {
    condition     = var.redpanda_replicas == 1 || var.redpanda_replicas >= 3
    error_message = "Use 1 broker (test only) or at least 3."
  }
}

variable "redpanda_storage_size" {
  description = "Size of each broker's persistent volume, e.g. 50Gi."
  type        = string
  default     = "50Gi"
  validation {
    condition     = can(regex("^[0-9]+(Gi|Ti)$", var.redpanda_storage_size))
    error_message = "redpanda_storage_size must be a quantity in Gi or Ti, e.g. 50Gi."
  }
}

variable "storage_class" {
  description = "Storage class of the brokers' volumes (from the cluster module)."
  type        = string
}

variable "install_metrics_server" {
  description = "Install metrics-server (needed by the HorizontalPodAutoscalers) when the cloud does not ship it."
  type        = bool
  default     = true
}

variable "load_balancer_annotations" {
  description = "Annotations of Traefik's LoadBalancer Service (cloud specific)."
  type        = map(string)
  default     = {}
}

variable "traefik_chart_version" {
  description = "Version of the traefik/traefik Helm chart."
  type        = string
  default     = "37.4.0"
}

variable "cnpg_chart_version" {
  description = "Version of the cloudnative-pg/cloudnative-pg Helm chart."
  type        = string
  default     = "0.27.0"
}

variable "redpanda_chart_version" {
  description = "Version of the redpanda/redpanda Helm chart (installs Redpanda of the same version)."
  type        = string
  default     = "26.2.7"
}

variable "metrics_server_chart_version" {
  description = "Version of the metrics-server Helm chart."
  type        = string
  default     = "3.13.0"
}

variable "install_redpanda" {
  description = "Install the in-cluster Redpanda; false for an external broker (Redpanda Cloud, any Kafka-protocol cluster) given as kafka_brokers."
  type        = bool
  default     = true
}
