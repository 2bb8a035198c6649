// PLACEHOLDER — the Prometheus exporter (issue 8) replaces this file.
export {};
