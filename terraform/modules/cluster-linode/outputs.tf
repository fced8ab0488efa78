output "cluster_id" {
  description = "LKE cluster id."
  value       = linode_lke_cluster.this.id
}

output "kubeconfig" {
  description = "Kubeconfig (YAML) of the cluster."
  value       = local.kubeconfig_raw
  sensitive   = true
}

output "host" {
  description = "Kubernetes API server URL."
  value       = local.kubeconfig.clusters[0].cluster.server
}

output "cluster_ca_certificate" {
  description = "PEM CA certificate of the API server."
  value       = base64decode(local.kubeconfig.clusters[0].cluster["certificate-authority-data"])
}

output "token" {
  description = "Bearer token of the kubeconfig's user."
  value       = local.kubeconfig.users[0].user.token
  sensitive   = true
}

output "storage_class" {
  description = "Storage class for persistent volumes on this cloud."
  value       = "linode-block-storage-retain"
}
