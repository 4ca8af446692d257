// Placeholder: replaced as the Kafka module is built.
