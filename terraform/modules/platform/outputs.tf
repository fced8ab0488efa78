output "kafka_brokers" {
  description = "Bootstrap address of the Redpanda brokers, as KAFKA_BROKERS expects; empty when install_redpanda is false."
  value       = var.install_redpanda ? join(",", [for i in range(var.redpanda_replicas) : "redpanda-${i}.redpanda.redpanda.svc.cluster.local:9093"]) : ""
}

output "ingress_namespace" {
  description = "Namespace of the ingress controller."
  value       = helm_release.traefik.namespace
}

output "ready" {
  description = "Ids of the platform releases, for depends_on ordering."
  value       = concat([helm_release.traefik.id, helm_release.cnpg.id], helm_release.redpanda[*].id)
}
