package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// awsKMS is AWS Key Management Service (or an implementation of its API, e.g. local-kms):
// GenerateDataKey, Encrypt and Decrypt with a symmetric key, named by key id, ARN or alias.
// Credentials and region come from the AWS SDK's default chain (environment, shared files,
// instance role); a key ARN sets the region itself.
type awsKMS struct {
	key    string
	client *kms.Client
}

func openAWS(ctx context.Context, key string, o Options) (Provider, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region := arnRegion(key); region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws-kms: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("aws-kms: no region: name the key by its ARN or set AWS_REGION")
	}
	client := kms.NewFromConfig(cfg, func(k *kms.Options) {
		if o.Endpoint != "" {
			k.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return &awsKMS{key: key, client: client}, nil
}

// arnRegion is the region of a key or alias ARN (arn:aws:kms:REGION:ACCOUNT:…), "" otherwise.
func arnRegion(key string) string {
	parts := strings.SplitN(key, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "kms" {
		return parts[3]
	}
	return ""
}

func (a *awsKMS) URI() string { return "aws-kms://" + a.key }

func (a *awsKMS) GenerateKey(ctx context.Context) ([]byte, []byte, error) {
	out, err := a.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(a.key), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		return nil, nil, a.fail("GenerateDataKey", err)
	}
	if len(out.Plaintext) != KeySize || len(out.CiphertextBlob) == 0 {
		clear(out.Plaintext)
		return nil, nil, fmt.Errorf("aws-kms: GenerateDataKey under %s returned a key of %d bytes, want %d: %w", a.key, len(out.Plaintext), KeySize, ErrRefused)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

func (a *awsKMS) Wrap(ctx context.Context, key []byte) ([]byte, error) {
	out, err := a.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(a.key), Plaintext: key})
	if err != nil {
		return nil, a.fail("Encrypt", err)
	}
	return out.CiphertextBlob, nil
}

func (a *awsKMS) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	// Naming the key makes KMS refuse a blob wrapped under any other key (IncorrectKeyException).
	out, err := a.client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(a.key), CiphertextBlob: wrapped})
	if err != nil {
		return nil, a.fail("Decrypt", err)
	}
	if len(out.Plaintext) != KeySize {
		clear(out.Plaintext)
		return nil, fmt.Errorf("aws-kms: Decrypt under %s returned %d bytes, want a %d-byte master key: %w", a.key, len(out.Plaintext), KeySize, ErrRefused)
	}
	return out.Plaintext, nil
}

// transient are the error codes of AWS KMS (and of AWS services in general) that say "not now"
// rather than "no": the request may succeed unchanged later. Every other code the service
// answers with is a refusal (DisabledException, KMSInvalidStateException, NotFoundException,
// AccessDeniedException, IncorrectKeyException, InvalidCiphertextException, …): unknown codes
// count as refusals, so that a new way of saying no fails closed.
var transient = map[string]bool{
	"ThrottlingException": true, "KMSInternalException": true, "DependencyTimeoutException": true,
	"KeyUnavailableException": true, "LimitExceededException": true, "RequestLimitExceeded": true,
	"InternalFailure": true, "ServiceUnavailable": true, "ServiceUnavailableException": true,
	"InternalServerError": true, "RequestTimeout": true, "RequestTimeoutException": true,
}

// fail turns an SDK error into one line: the service's error code and message when it answered,
// "unreachable" otherwise; it wraps ErrRefused or ErrUnreachable. Neither carries key material.
func (a *awsKMS) fail(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if transient[ae.ErrorCode()] {
			return fmt.Errorf("aws-kms: %s under %s failed (KMS %w: %s: %s)", op, a.key, ErrUnreachable, ae.ErrorCode(), ae.ErrorMessage())
		}
		return fmt.Errorf("aws-kms: %s under %s %w: %s: %s", op, a.key, ErrRefused, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("aws-kms: %s under %s failed (KMS %w: %w)", op, a.key, ErrUnreachable, err)
}
