output "api_url" {
  description = "Base URL of the HTTP API."
  value       = "${local.scheme}://${local.address}/api"
}

output "websocket_url" {
  description = "WebSocket URL template of the fan-out tier."
  value       = "${local.ws}://${local.address}/api/ws/{user_id}"
}

output "base_url" {
  description = "Origin of the API for the client library and the dashboard: createClient({ baseUrl }) and ?api= (they add /api/... themselves)."
  value       = "${local.scheme}://${local.address}"
}

output "ws_base_url" {
  description = "Origin of the fan-out for the client library and the dashboard: createClient({ wsUrl }) and ?ws= (they add /api/ws/<user_id> themselves)."
  value       = "${local.ws}://${local.address}"
}

output "kubeconfig_path" {
  description = "Path of the kubeconfig file written for kubectl."
  value       = var.kubeconfig_path
}
