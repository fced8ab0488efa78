output "api_url" {
  description = "Base URL of the HTTP API (e.g. POST <api_url>/<user_id>/tasks)."
  value       = module.app.api_url
}

output "websocket_url" {
  description = "WebSocket URL template (add ?token=<jwt>)."
  value       = module.app.websocket_url
}

output "base_url" {
  description = "For the client library and the dashboard: createClient({ baseUrl: <base_url>, wsUrl: <ws_base_url> }), or the dashboard's ?api=<base_url>&ws=<ws_base_url>."
  value       = module.app.base_url
}

output "ws_base_url" {
  description = "WebSocket origin for createClient's wsUrl and the dashboard's ?ws= (the client adds /api/ws/<user_id>)."
  value       = module.app.ws_base_url
}

output "kubeconfig_path" {
  description = "Kubeconfig written for kubectl: export KUBECONFIG=<this>."
  value       = module.app.kubeconfig_path
}

output "cluster_id" {
  description = "Id of the Kubernetes cluster at the cloud provider."
  value       = module.cluster.cluster_id
}
