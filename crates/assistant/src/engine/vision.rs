//! Vision: each image of the pending messages is downloaded once and measured once, and
//! the result is stored on the attachment it came with. A failure is recorded as such and
//! the turn goes on.

use inkdesk_messaging::AttachmentFetcher;
use inkdesk_openai::{
    ChatModel, ChatModelExt, ChatRequest, ImageDetail, ImagePart, JsonSchemaFormat, Message,
    ModelTask, UserPart,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::record::{CallKind, ModelCallRecord};
use crate::message::{AttachmentKind, CustomerMessage, ImageAnalysis, Measurements};
use crate::tools::args::decimal_value;
use crate::tools::schema::STYLES;

/// The vision model's answer, as the prompt asks for it.
#[derive(Debug, Deserialize)]
struct VisionReply {
    #[serde(default = "yes")]
    is_tattoo_design: bool,
    #[serde(default)]
    description: String,
    height_cm: Value,
    width_cm: Value,
    ink_coverage: Value,
    #[serde(default)]
    style: String,
}

fn yes() -> bool {
    true
}

fn schema() -> JsonSchemaFormat {
    JsonSchemaFormat::new(
        "tattoo_measurements",
        json!({
            "type": "object",
            "properties": {
                "is_tattoo_design": {"type": "boolean"},
                "description": {"type": "string"},
                "height_cm": {"type": "number"},
                "width_cm": {"type": "number"},
                "ink_coverage": {"type": "number"},
                "style": {"type": "string", "enum": STYLES},
            },
            "required": ["is_tattoo_design", "description", "height_cm", "width_cm", "ink_coverage", "style"],
            "additionalProperties": false,
        }),
    )
}

/// A new analysis, to be stored on attachment `index` of message `mid`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewAnalysis {
    /// The message the image came with.
    pub mid: String,
    /// Its position among the message's attachments.
    pub index: usize,
    /// The result.
    pub analysis: ImageAnalysis,
}

/// Analyses every image in `messages` that has no analysis yet, in place; returns the new
/// analyses (to store) and the model calls made. The images are analysed concurrently
/// (the runner bounds how many one turn carries), and the results keep message order.
pub(crate) async fn analyse_pending(
    model: &dyn ChatModel,
    fetcher: &dyn AttachmentFetcher,
    prompt: &str,
    detail: ImageDetail,
    messages: &mut [CustomerMessage],
) -> (Vec<NewAnalysis>, Vec<ModelCallRecord>) {
    let mut jobs = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        for (index, attachment) in message.attachments.iter().enumerate() {
            if attachment.kind == AttachmentKind::Image && attachment.analysis.is_none() {
                jobs.push((m, index, attachment.url.clone()));
            }
        }
    }
    let results = futures::future::join_all(jobs.iter().map(|(_, _, url)| async move {
        let mut calls = Vec::new();
        let analysis = match url {
            None => ImageAnalysis::Failed {
                reason: "the image has no URL".to_owned(),
            },
            Some(url) => analyse_one(model, fetcher, prompt, detail, url, &mut calls).await,
        };
        (analysis, calls)
    }))
    .await;
    let mut analyses = Vec::with_capacity(jobs.len());
    let mut all_calls = Vec::new();
    for ((m, index, _), (analysis, calls)) in jobs.into_iter().zip(results) {
        all_calls.extend(calls);
        if let Some(attachment) = messages[m].attachments.get_mut(index) {
            attachment.analysis = Some(analysis.clone());
        }
        analyses.push(NewAnalysis {
            mid: messages[m].mid.clone(),
            index,
            analysis,
        });
    }
    (analyses, all_calls)
}

async fn analyse_one(
    model: &dyn ChatModel,
    fetcher: &dyn AttachmentFetcher,
    prompt: &str,
    detail: ImageDetail,
    url: &str,
    calls: &mut Vec<ModelCallRecord>,
) -> ImageAnalysis {
    let failed = |reason: String| ImageAnalysis::Failed { reason };
    let downloaded = match fetcher.fetch(url).await {
        Ok(d) => d,
        Err(e) => return failed(format!("download failed: {e}")),
    };
    let part = match ImagePart::new(downloaded.bytes, detail) {
        Ok(p) => p,
        Err(e) => return failed(format!("not an image the model reads: {e}")),
    };
    let request = ChatRequest::new(
        ModelTask::Vision,
        vec![
            Message::system(prompt),
            Message::user_parts(vec![UserPart::Image(part)]),
        ],
    )
    .with_response_format(schema());
    let started = tokio::time::Instant::now();
    match model.complete_json::<VisionReply>(request).await {
        Ok(structured) => {
            let usage = &structured.response.usage;
            calls.push(ModelCallRecord {
                kind: CallKind::Vision,
                model: usage.model.clone(),
                prompt_tokens: usage.prompt_tokens,
                cached_tokens: usage.cached_tokens,
                completion_tokens: usage.completion_tokens,
                audio_seconds: 0,
                latency: started.elapsed(),
                ok: true,
            });
            to_analysis(structured.value)
        }
        Err(e) => {
            calls.push(ModelCallRecord {
                kind: CallKind::Vision,
                model: String::new(),
                prompt_tokens: 0,
                cached_tokens: 0,
                completion_tokens: 0,
                audio_seconds: 0,
                latency: started.elapsed(),
                ok: false,
            });
            failed(format!("vision failed: {e}"))
        }
    }
}

fn to_analysis(reply: VisionReply) -> ImageAnalysis {
    let description: String = reply.description.trim().chars().take(120).collect();
    if !reply.is_tattoo_design {
        return ImageAnalysis::NotADesign { description };
    }
    let number = |v: &Value| decimal_value(v).filter(|d| *d >= Decimal::ZERO);
    let (Some(height_cm), Some(width_cm), Some(ink)) = (
        number(&reply.height_cm),
        number(&reply.width_cm),
        number(&reply.ink_coverage),
    ) else {
        return ImageAnalysis::Failed {
            reason: "measurements missing or not numbers".to_owned(),
        };
    };
    let style = reply.style.trim().to_lowercase();
    if !STYLES.contains(&style.as_str()) || height_cm.is_zero() || width_cm.is_zero() {
        return ImageAnalysis::Failed {
            reason: format!("unusable measurements (style `{style}`)"),
        };
    }
    ImageAnalysis::Measured(Measurements {
        description,
        height_cm: height_cm.round_dp(1),
        width_cm: width_cm.round_dp(1),
        ink_coverage: ink.min(Decimal::ONE).round_dp(2),
        style,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn reply(value: Value) -> ImageAnalysis {
        to_analysis(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn a_design_becomes_measurements_and_other_images_are_marked() {
        let measured = reply(
            json!({"is_tattoo_design": true, "description": "rose", "height_cm": 7, "width_cm": 7.04, "ink_coverage": 0.3, "style": "light_shading"}),
        );
        assert_eq!(
            measured,
            ImageAnalysis::Measured(Measurements {
                description: "rose".to_owned(),
                height_cm: dec!(7),
                width_cm: dec!(7.0),
                ink_coverage: dec!(0.3),
                style: "light_shading".to_owned(),
            })
        );
        assert!(matches!(
            reply(
                json!({"is_tattoo_design": false, "description": "a selfie", "height_cm": 0, "width_cm": 0, "ink_coverage": 0, "style": "line_work"})
            ),
            ImageAnalysis::NotADesign { .. }
        ));
        assert!(matches!(
            reply(
                json!({"description": "x", "height_cm": "big", "width_cm": 3, "ink_coverage": 0.1, "style": "line_work"})
            ),
            ImageAnalysis::Failed { .. }
        ));
        assert!(matches!(
            reply(
                json!({"description": "x", "height_cm": 3, "width_cm": 3, "ink_coverage": 0.1, "style": "watercolour"})
            ),
            ImageAnalysis::Failed { .. }
        ));
    }
}
