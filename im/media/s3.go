package media

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// defaultRegion is used when s3.region is empty: presigning then needs no
// round trip to ask the bucket's location.
const defaultRegion = "us-east-1"

// maxQuotaList bounds the objects listed to compute a user's usage.
const maxQuotaList = 100_000

// S3 stores files in an S3-compatible bucket under "{owner}/{id}" keys and
// hands out minio-go presigned URLs (path style: {scheme}://{endpoint}/{bucket}/{key}).
type S3 struct {
	cfg    Config
	cl     *minio.Client
	secret []byte
	base   string // scheme://endpoint/bucket/
	now    func() time.Time
	log    zerolog.Logger
	closed atomic.Bool
}

// OpenS3 connects to cfg.S3 (creating the bucket when cfg.S3.CreateBucket)
// and returns the store. now is the clock (nil: time.Now).
func OpenS3(ctx context.Context, cfg Config, now func() time.Time, log zerolog.Logger) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	sc := cfg.S3
	if sc.Region == "" {
		sc.Region = defaultRegion
	}
	cl, err := minio.New(sc.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(sc.AccessKey, sc.SecretKey, ""),
		Secure:       sc.TLS,
		Region:       sc.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: s3 client: %v", ErrInvalidConfig, err)
	}
	if sc.CreateBucket {
		ok, err := cl.BucketExists(ctx, sc.Bucket)
		if err != nil {
			return nil, fmt.Errorf("%w: s3 bucket %q: %v", ErrUnavailable, sc.Bucket, err)
		}
		if !ok {
			if err := cl.MakeBucket(ctx, sc.Bucket, minio.MakeBucketOptions{Region: sc.Region}); err != nil {
				return nil, fmt.Errorf("%w: create s3 bucket %q: %v", ErrUnavailable, sc.Bucket, err)
			}
		}
	}
	secret := []byte(cfg.Secret)
	if len(secret) == 0 {
		m := hmac.New(sha256.New, []byte(sc.SecretKey))
		m.Write([]byte("imqtt-media-key-secret"))
		secret = m.Sum(nil)
	}
	scheme := "http"
	if sc.TLS {
		scheme = "https"
	}
	cfg.S3 = sc
	return &S3{cfg: cfg, cl: cl, secret: secret, now: now,
		base: scheme + "://" + sc.Endpoint + "/" + sc.Bucket + "/",
		log:  log.With().Str(logfield.Component, "media").Logger()}, nil
}

// Upload implements Store.
func (s *S3) Upload(ctx context.Context, user string, f File) (Grant, error) {
	if s.closed.Load() {
		return Grant{}, ErrClosed
	}
	if err := s.cfg.checkFile(f); err != nil {
		return Grant{}, err
	}
	if s.cfg.UserQuota > 0 {
		used, err := s.used(ctx, ownerOf(user))
		if err != nil {
			return Grant{}, err
		}
		if used+f.Size > s.cfg.UserQuota {
			return Grant{}, fmt.Errorf("%w: %d of %d bytes used", ErrQuota, used, s.cfg.UserQuota)
		}
	}
	key, err := newKey(s.secret, user, f)
	if err != nil {
		return Grant{}, err
	}
	sum, _ := hex.DecodeString(f.SHA256)
	hdr := http.Header{}
	hdr.Set("Content-Type", f.MIME)
	hdr.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(sum))
	put, err := s.cl.PresignHeader(ctx, http.MethodPut, s.cfg.S3.Bucket, key, s.cfg.PutExpiry, nil, hdr)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: presign put: %v", ErrUnavailable, err)
	}
	get, err := s.cl.PresignedGetObject(ctx, s.cfg.S3.Bucket, key, s.cfg.GetExpiry, nil)
	if err != nil {
		return Grant{}, fmt.Errorf("%w: presign get: %v", ErrUnavailable, err)
	}
	headers := make(map[string]string, len(hdr))
	for k := range hdr {
		headers[k] = hdr.Get(k)
	}
	return Grant{PutURL: put.String(), PutHeaders: headers, URL: get.String(), Key: key,
		Expires: s.now().Add(s.cfg.PutExpiry).UnixMilli()}, nil
}

// used sums the sizes of owner's objects.
func (s *S3) used(ctx context.Context, owner string) (int64, error) {
	var used int64
	n := 0
	for obj := range s.cl.ListObjects(ctx, s.cfg.S3.Bucket, minio.ListObjectsOptions{Prefix: owner + "/", Recursive: true}) {
		if obj.Err != nil {
			return 0, fmt.Errorf("%w: list: %v", ErrUnavailable, obj.Err)
		}
		used += obj.Size
		if n++; n >= maxQuotaList {
			break
		}
	}
	return used, nil
}

// Check implements Store: the URL must be a presigned GET of this bucket
// for a key whose MAC matches f, and not expired. The AWS signature itself is
// checked by the object store when the URL is used.
func (s *S3) Check(raw string, f File) error {
	if err := s.cfg.checkFile(f); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(raw, s.base)
	if !ok {
		return fmt.Errorf("%w: not under %s", ErrNotIssued, s.base)
	}
	key, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("%w: query: %v", ErrBadSignature, err)
	}
	if q.Get("X-Amz-Signature") == "" {
		return fmt.Errorf("%w: not a presigned url", ErrBadSignature)
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("%w: X-Amz-Date", ErrBadSignature)
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 1 {
		return fmt.Errorf("%w: X-Amz-Expires", ErrBadSignature)
	}
	if s.now().After(signed.Add(time.Duration(secs) * time.Second)) {
		return ErrExpired
	}
	return verifyKey(s.secret, key, f)
}

// Close implements Store; idempotent.
func (s *S3) Close() error {
	s.closed.Store(true)
	return nil
}
