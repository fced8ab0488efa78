variable "repo_root" {
  description = "Path of the taskstream repository checkout (holds k8s/ and deploy/)."
  type        = string
}

variable "overlay" {
  description = "k8s/overlays/<overlay> to apply."
  type        = string
  validation {
    condition     = contains(["local", "linode", "civo"], var.overlay)
    error_message = "overlay must be one of local, linode, civo."
  }
}

variable "image" {
  description = "Container image of taskstream with an immutable tag or digest (never :latest)."
  type        = string
  validation {
    condition     = !endswith(var.image, ":latest") && (strcontains(var.image, "@sha256:") || can(regex(":[A-Za-z0-9_.-]+$", var.image)))
    error_message = "image must carry a tag other than latest, or a digest."
  }
}

variable "host" {
  description = "Public DNS name of the API (Ingress host); empty to answer on the load balancer's address."
  type        = string
  default     = ""
}

variable "tls" {
  description = "Whether the host is served over TLS (terminate at Traefik or in front of it)."
  type        = bool
  default     = false
}

variable "kubeconfig" {
  description = "Kubeconfig YAML of the cluster (from the cluster module)."
  type        = string
  sensitive   = true
}

variable "kubeconfig_path" {
  description = "Where to write the kubeconfig (mode 0600) for kubectl and deploy/k8s-apply.sh."
  type        = string
}

variable "kafka_brokers" {
  description = "KAFKA_BROKERS for the processes (the platform module's Redpanda, or an external broker)."
  type        = string
  validation {
    condition     = var.kafka_brokers != ""
    error_message = "kafka_brokers is empty: with install_redpanda = false, set kafka_brokers to the external broker."
  }
}

variable "kafka_ssl_ca_pem" {
  description = "PEM of the brokers' CA for KAFKA_SSL_CA_FILE (mounted from the Secret taskstream-kafka-ca); empty to trust the system CAs."
  type        = string
  default     = ""
}

variable "ingress_namespace" {
  description = "Namespace of the ingress controller's Service (from the platform module)."
  type        = string
  default     = "ingress"
}

variable "platform_ready" {
  description = "Ids of the platform releases, so the app is applied after them."
  type        = list(string)
  default     = []
}

variable "rollback" {
  description = "Roll out in reverse order (ingest and fanout first, processors last once their consumer lag is 0): set for a rollback to an older image, then back to false (ROLLBACK=1 of deploy/k8s-apply.sh)."
  type        = bool
  default     = false
}

variable "jwt_secret" {
  description = "HS256 secret for JWT_SECRET (at least 32 characters); leave empty when jwt_jwks_url is set. Given via TF_VAR_jwt_secret; not stored in state."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.jwt_secret == "" || length(var.jwt_secret) >= 32
    error_message = "jwt_secret must be at least 32 characters."
  }
}

variable "jwt_jwks_url" {
  description = "JWKS URL for RS256/ES256/EdDSA tokens (JWT_JWKS_URL); preferred in production."
  type        = string
  default     = ""
  validation {
    condition     = var.jwt_jwks_url == "" || startswith(var.jwt_jwks_url, "https://")
    error_message = "jwt_jwks_url must be an https:// URL."
  }
}

variable "jwt_issuer" {
  description = "Expected JWT issuer (JWT_ISSUER); empty to skip the check."
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
  description = "DATABASE_URL of a managed Postgres; empty to use the in-cluster CloudNativePG database."
  type        = string
  default     = ""
  sensitive   = true
}

variable "redis_url" {
  description = "REDIS_URL of a managed Redis (needs AOF/persistence and maxmemory-policy noeviction); empty for the in-cluster Redis."
  type        = string
  default     = ""
  sensitive   = true
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
