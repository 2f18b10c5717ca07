import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { parseCursor } from '../../read-model/read-model.service';
import { Step, stepSlug } from '@urumi/contracts';
import { stepFromSlug } from './store-view.dto';

const STEP_SLUGS = Object.values(Step)
  .filter((step): step is Step => typeof step === 'number' && step !== Step.UNSPECIFIED)
  .map(stepSlug);

@ValidatorConstraint({ name: 'isPageCursor' })
class PageCursorConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseCursor(value) !== undefined;
  }
  defaultMessage(): string {
    return 'after must be the next value of a previous page';
  }
}

@ValidatorConstraint({ name: 'isStepSlug' })
class StepSlugConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && stepFromSlug(value) !== undefined;
  }
  defaultMessage(): string {
    return 'status must be a step such as queued, approved, ready, failed or deleting';
  }
}

export class ListStoresQuery {
  @ApiPropertyOptional({ enum: STEP_SLUGS, example: 'ready', description: 'only stores in this step' })
  @IsOptional()
  @Validate(StepSlugConstraint)
  status?: string;

  @ApiPropertyOptional({ type: 'integer', default: 100, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(500, { message: 'limit must be at most 500' })
  limit?: number;

  @ApiPropertyOptional({ description: 'the `next` value of the previous page' })
  @IsOptional()
  @Validate(PageCursorConstraint)
  after?: string;
}
