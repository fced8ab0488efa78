# Variables common to both examples (cloud-specific ones are in cloud-variables.tf).

variable "name" {
  description = "Name of the cluster and prefix of its resources."
  type        = string
  default     = "taskstream"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and dashes."
  }
}

variable "image" {
  description = "taskstream container image with an immutable tag or digest, e.g. registry.example.com/taskstream:0.1.0 (built from the repository's Dockerfile)."
  type        = string
  validation {
    condition     = !endswith(var.image, ":latest") && (strcontains(var.image, "@sha256:") || can(regex(":[A-Za-z0-9_.-]+$", var.image)))
    error_message = "image must carry a tag other than latest, or a digest."
  }
}

variable "host" {
  description = "Public DNS name for the API and WebSocket (point it at the load balancer); empty to use the load balancer's address."
  type        = string
  default     = ""
  validation {
    condition     = var.host == "" || can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", var.host))
    error_message = "host must be a DNS name without scheme or path."
  }
}

variable "tls" {
  description = "Set when TLS terminates in front of the host (URLs in the outputs become https/wss)."
  type        = bool
  default     = false
}

variable "redpanda_replicas" {
  description = "Number of Redpanda brokers (3 for replication factor 3)."
  type        = number
  default     = 3
  validation {
    condition     = var.redpanda_replicas >= 3
    error_message = "Production needs at least 3 brokers (topics use replication factor 3)."
  }
}

variable "redpanda_storage_size" {
  description = "Persistent volume size of each Redpanda broker."
  type        = string
  default     = "50Gi"
  validation {
    condition     = can(regex("^[0-9]+(Gi|Ti)$", var.redpanda_storage_size))
    error_message = "redpanda_storage_size must be like 50Gi."
  }
}

variable "kubeconfig_path" {
  description = "Where to write the cluster's kubeconfig (mode 0600); default ./kubeconfig next to this configuration."
  type        = string
  default     = ""
}

variable "rollback" {
  description = "Roll out in reverse order (ingest and fanout first, processors last once their consumer lag is 0): set for a rollback to an older image, then back to false (ROLLBACK=1 of deploy/k8s-apply.sh)."
  type        = bool
  default     = false
}

variable "jwt_secret" {
  description = "HS256 signing secret (JWT_SECRET), at least 32 characters. Set with TF_VAR_jwt_secret; it reaches the cluster only, not the Terraform state."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.jwt_secret == "" || length(var.jwt_secret) >= 32
    error_message = "jwt_secret must be at least 32 characters."
  }
}

variable "jwt_jwks_url" {
  description = "JWKS URL of your identity provider (JWT_JWKS_URL); set this or jwt_secret."
  type        = string
  default     = ""
  validation {
    condition     = var.jwt_jwks_url == "" || startswith(var.jwt_jwks_url, "https://")
    error_message = "jwt_jwks_url must be an https:// URL."
  }
}

variable "jwt_issuer" {
  description = "Expected token issuer (JWT_ISSUER); empty to skip the check."
  type        = string
  default     = ""
}

variable "jwt_audience" {
  description = "Expected JWT audience (JWT_AUDIENCE); empty to skip the check."
  type        = string
  default     = ""
}

variable "cors_origins" {
  description = "CORS_ORIGINS: comma list of browser origins allowed by CORS and at the WebSocket upgrade (e.g. https://app.example.com); empty keeps the default, localhost only, which refuses every browser elsewhere."
  type        = string
  default     = ""
  validation {
    condition     = !can(regex("[\\s'\"]", var.cors_origins))
    error_message = "cors_origins is a comma list of origins without spaces or quotes, e.g. https://app.example.com,https://*.example.com."
  }
}

variable "topic_prefix" {
  description = "TOPIC_PREFIX of every topic name (shared broker); empty for none. Changing it on a running deployment starts on new, empty topics."
  type        = string
  default     = ""
}

variable "database_url" {
  description = "Managed Postgres URL (DATABASE_URL); empty for the in-cluster CloudNativePG database. Set with TF_VAR_database_url."
  type        = string
  default     = ""
  sensitive   = true
}

variable "redis_url" {
  description = "Managed Redis URL (REDIS_URL, needs persistence and maxmemory-policy noeviction); empty for the in-cluster Redis."
  type        = string
  default     = ""
  sensitive   = true
}

variable "kafka_brokers" {
  description = "KAFKA_BROKERS of an external broker (host:port list, e.g. Redpanda Cloud's bootstrap server, with kafka_sasl_* and kafka_ssl); empty for the in-cluster Redpanda."
  type        = string
  default     = ""
  validation {
    condition     = var.kafka_brokers == "" || can(regex("^[A-Za-z0-9.-]+:[0-9]+(,[A-Za-z0-9.-]+:[0-9]+)*$", var.kafka_brokers))
    error_message = "kafka_brokers is a comma list of host:port."
  }
}

variable "install_redpanda" {
  description = "Install Redpanda in the cluster; set false with an external kafka_brokers."
  type        = bool
  default     = true
}

variable "kafka_ssl_ca_pem" {
  description = "PEM of the CA that signed the brokers' TLS certificates (e.g. file(\"ca.pem\")), when the system CAs do not cover it; mounted as KAFKA_SSL_CA_FILE. Needs kafka_ssl."
  type        = string
  default     = ""
}

variable "kafka_sasl_mechanism" {
  description = "KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) for a secured broker; empty for none."
  type        = string
  default     = ""
  validation {
    condition     = contains(["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], var.kafka_sasl_mechanism)
    error_message = "kafka_sasl_mechanism must be empty, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
  }
}

variable "kafka_sasl_username" {
  description = "KAFKA_SASL_USERNAME (with kafka_sasl_mechanism); goes into the Secret taskstream-secrets."
  type        = string
  default     = ""
  sensitive   = true
}

variable "kafka_sasl_password" {
  description = "KAFKA_SASL_PASSWORD (with kafka_sasl_mechanism). Given via TF_VAR_kafka_sasl_password; reaches the cluster's Secret only, not the state."
  type        = string
  default     = ""
  sensitive   = true
}

variable "kafka_ssl" {
  description = "KAFKA_SSL: TLS to the brokers (SASL_SSL with SASL), e.g. for Redpanda Cloud."
  type        = bool
  default     = false
}

variable "redis_password" {
  description = "Password of the in-cluster Redis (requirepass); empty keeps the one in the cluster's Secret taskstream-redis-auth or generates one. Ignored when redis_url is set."
  type        = string
  default     = ""
  sensitive   = true
}
