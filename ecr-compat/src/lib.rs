//! AWS ECR as a migration source and credential provider, and ECR-to-Harbor reference mapping.
