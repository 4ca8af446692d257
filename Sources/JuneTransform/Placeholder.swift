// Placeholder: replaced as the JuneTransform module is built.
