import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ItemChange } from '../../use-cases/publish-live-events';

/** A stream record's images as the DynamoDB Streams API and Lambda's event both give them. */
export interface StreamImages {
  OldImage?: Record<string, unknown>;
  NewImage?: Record<string, unknown>;
}

const plain = (image: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
  if (!image) return undefined;
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, gsi2pk: _g3, gsi2sk: _g4, expiresAt: _e, ...rest } = unmarshall(image as Record<string, AttributeValue>);
  return rest;
};

/** One stream record of the main table as an `ItemChange` (its `entity` from whichever image has one). */
export const itemChangeOf = (images: StreamImages): ItemChange => {
  const oldImage = plain(images.OldImage);
  const newImage = plain(images.NewImage);
  const entity = (newImage?.entity ?? oldImage?.entity) as string | undefined;
  if (oldImage) delete oldImage.entity;
  if (newImage) delete newImage.entity;
  return { ...(entity ? { entity } : {}), ...(oldImage ? { oldImage } : {}), ...(newImage ? { newImage } : {}) };
};
