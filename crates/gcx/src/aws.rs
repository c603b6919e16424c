//! The AWS clients, built once from the standard configuration.

use aws_config::{BehaviorVersion, Region};

use crate::cli::AwsArgs;
use crate::error::Error;
pub use crate::error::Failure;

/// Every client gcx uses, sharing one configuration (region, credentials, endpoint).
pub struct Clients {
    /// SQS: the queues.
    pub sqs: aws_sdk_sqs::Client,
    /// Step Functions: pipeline redrives, running executions.
    pub sfn: aws_sdk_sfn::Client,
    /// CloudFormation: the stack's outputs.
    pub cfn: aws_sdk_cloudformation::Client,
    /// Lambda: fanout, invoked asynchronously in direct mode.
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    /// Loads the standard AWS configuration, with the flags on top.
    pub async fn load(args: &AwsArgs) -> Result<Self, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &args.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &args.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &args.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let conf = loader.load().await;
        if conf.region().is_none() {
            return Err(Error::NoRegion);
        }
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(&conf),
            sfn: aws_sdk_sfn::Client::new(&conf),
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
        })
    }
}
