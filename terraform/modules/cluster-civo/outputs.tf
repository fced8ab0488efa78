output "cluster_id" {
  description = "Civo cluster id."
  value       = civo_kubernetes_cluster.this.id
}

output "kubeconfig" {
  description = "Kubeconfig (YAML) of the cluster."
  value       = civo_kubernetes_cluster.this.kubeconfig
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

output "client_certificate" {
  description = "PEM client certificate of the kubeconfig's user."
  value       = base64decode(local.kubeconfig.users[0].user["client-certificate-data"])
}

output "client_key" {
  description = "PEM client key of the kubeconfig's user."
  value       = base64decode(local.kubeconfig.users[0].user["client-key-data"])
  sensitive   = true
}

output "storage_class" {
  description = "Storage class for persistent volumes on this cloud."
  value       = "civo-volume"
}
