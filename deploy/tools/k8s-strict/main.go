// k8s-strict decodes every object of a multi-document YAML stream (stdin) into the
// Kubernetes API Go types with strict decoding: an unknown or duplicated field is an
// error, as `kubectl apply` (server-side field validation Strict) would report it.
// Kinds outside the built-in API groups (CRDs) are listed as skipped; deploy/checks
// validates those. Exit 1 when any object fails.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	checked, skipped, failed := 0, 0, 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "k8s-strict: reading YAML: %v\n", err)
			os.Exit(1)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			fmt.Printf("FAIL %s: %v\n", "document", err)
			failed++
			continue
		}
		id := fmt.Sprintf("%s/%s/%s", meta.Kind, meta.Metadata.Namespace, meta.Metadata.Name)
		if _, _, err := decoder.Decode(doc, nil, nil); err != nil {
			if runtime.IsNotRegisteredError(err) {
				fmt.Printf("skip %s (%s: not a built-in API type)\n", id, meta.APIVersion)
				skipped++
				continue
			}
			fmt.Printf("FAIL %s: %v\n", id, err)
			failed++
			continue
		}
		checked++
	}
	fmt.Printf("k8s-strict: %d objects decoded strictly, %d skipped (CRDs), %d failed\n", checked, skipped, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
