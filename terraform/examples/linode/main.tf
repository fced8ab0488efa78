# taskstream on Linode LKE, in one apply:
#   export LINODE_TOKEN=...  TF_VAR_jwt_secret=...   (never in a .tfvars file in git)
#   tofu init && tofu apply -var image=registry.example.com/taskstream:0.1.0
provider "linode" {
  # Token from the LINODE_TOKEN environment variable.
}

module "cluster" {
  source             = "../../modules/cluster-linode"
  name               = var.name
  region             = var.region
  kubernetes_version = var.kubernetes_version
  node_type          = var.node_type
  node_count         = var.node_count
  node_count_max     = var.node_count_max
  ha_control_plane   = var.ha_control_plane
}

provider "helm" {
  kubernetes {
    host                   = module.cluster.host
    token                  = module.cluster.token
    cluster_ca_certificate = module.cluster.cluster_ca_certificate
  }
}

provider "kubernetes" {
  host                   = module.cluster.host
  token                  = module.cluster.token
  cluster_ca_certificate = module.cluster.cluster_ca_certificate
}

module "platform" {
  source                 = "../../modules/platform"
  redpanda_values_file   = "${path.module}/../../../redpanda/helm/values.yaml"
  redpanda_replicas      = var.redpanda_replicas
  redpanda_storage_size  = var.redpanda_storage_size
  storage_class          = module.cluster.storage_class
  install_redpanda       = var.install_redpanda
  install_metrics_server = true
}

module "app" {
  source               = "../../modules/app"
  repo_root            = abspath("${path.module}/../../..")
  overlay              = "linode"
  image                = var.image
  rollback             = var.rollback
  host                 = var.host
  tls                  = var.tls
  kubeconfig           = module.cluster.kubeconfig
  kubeconfig_path      = var.kubeconfig_path != "" ? var.kubeconfig_path : abspath("${path.root}/kubeconfig")
  kafka_brokers        = var.kafka_brokers != "" ? var.kafka_brokers : module.platform.kafka_brokers
  kafka_ssl_ca_pem     = var.kafka_ssl_ca_pem
  ingress_namespace    = module.platform.ingress_namespace
  platform_ready       = module.platform.ready
  jwt_secret           = var.jwt_secret
  jwt_jwks_url         = var.jwt_jwks_url
  jwt_issuer           = var.jwt_issuer
  jwt_audience         = var.jwt_audience
  cors_origins         = var.cors_origins
  topic_prefix         = var.topic_prefix
  database_url         = var.database_url
  redis_url            = var.redis_url
  redis_password       = var.redis_password
  kafka_sasl_mechanism = var.kafka_sasl_mechanism
  kafka_sasl_username  = var.kafka_sasl_username
  kafka_sasl_password  = var.kafka_sasl_password
  kafka_ssl            = var.kafka_ssl
}
