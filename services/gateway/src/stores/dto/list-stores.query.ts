import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { stepFromSlug } from '../store.view';

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
  @ApiPropertyOptional({ example: 'ready', description: 'only stores in this step' })
  @IsOptional()
  @Validate(StepSlugConstraint)
  status?: string;

  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(500, { message: 'limit must be at most 500' })
  limit?: number;

  @ApiPropertyOptional({ description: 'the `next` value of the previous page' })
  @IsOptional()
  @IsString({ message: 'after must be the next value of a previous page' })
  after?: string;
}
