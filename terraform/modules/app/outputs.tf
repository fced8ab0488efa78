output "api_url" {
  description = "Base URL of the HTTP API."
  value       = "${local.scheme}://${local.address}/api"
}

output "websocket_url" {
  description = "WebSocket URL template of the fan-out tier."
  value       = "${local.ws}://${local.address}/api/ws/{user_id}"
}

output "kubeconfig_path" {
  description = "Path of the kubeconfig file written for kubectl."
  value       = var.kubeconfig_path
}
